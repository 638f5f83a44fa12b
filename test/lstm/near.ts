import { expect } from 'vitest';

/**
 * Element by element, |actual − expected| ≤ rel · (the largest |expected|): the tolerance of the
 * PyTorch golden tests, relative to the scale of each array.
 */
export function expectNear(actual: ArrayLike<number>, expected: number[], rel: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const scale = Math.max(...expected.map(Math.abs), 1e-30);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / scale;
    if (err > rel) expect.fail(`${what}[${i}]: got ${actual[i]}, PyTorch ${expected[i]} (relative error ${err.toExponential(2)} > ${rel})`);
  }
}
