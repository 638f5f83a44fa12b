// mul (src/tensor/elementwise.ts), dropout's kernel, exactly: offsets into each array, only n
// elements written, and in place on either input (issue 13: mutation testing).
import { describe, expect, it } from 'vitest';
import { mul } from '../../src/tensor/elementwise.js';

describe('mul', () => {
  it('out[o + k] = a[ao + k] · b[bo + k] for k < n, and nothing else', () => {
    const a = Float64Array.of(9, 2, 3, 4, 9), b = Float32Array.of(9, 9, 0.5, -1, 10, 9);
    const out = new Float64Array(6).fill(-7);
    mul(out, 1, a, 1, b, 2, 3);
    expect(Array.from(out)).toEqual([-7, 1, -3, 40, -7, -7]);
  });

  it('works in place on a or on b, and with n = 0 writes nothing', () => {
    const a = Float32Array.of(1, 2, 3), m = Float32Array.of(0, 2, 4);
    mul(a, 0, a, 0, m, 0, 3);
    expect(Array.from(a)).toEqual([0, 4, 12]);
    mul(m, 1, a, 1, m, 1, 2);
    expect(Array.from(m)).toEqual([0, 8, 48]);
    mul(m, 0, a, 0, a, 0, 0);
    expect(Array.from(m)).toEqual([0, 8, 48]);
  });
});
