// The fused recurrence (src/webgpu/recurrence.ts) on more units than one workgroup holds
// (B·H = 2·160 = 320 > 256 invocations): its grid must cover every (row, unit), forward and
// backward. steps-mutation.test.ts's tiny model fits one workgroup, so a grid of B / H
// workgroups instead of B·H (issue 13: two survivors) went unseen there.
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';
import { testDevice } from './device.js';

describe('the fused recurrence over more than one workgroup', () => {
  it('B 2, H 160: loss, final state and every gradient equal the js backend’s', async () => {
    const options = { vocabSize: 5, numHiddens: 160, seed: 7, init: 'pytorch' } as const;
    const gpu = new LSTMLanguageModel({ ...options, backend: 'webgpu', gpuDevice: await testDevice() });
    const cpu = new LSTMLanguageModel({ ...options, backend: 'js', dtype: 'float32' });
    const X = [[1, 2, 3], [4, 0, 2]], Y = [[2, 3, 4], [0, 1, 3]];
    const sg = gpu.initState(2), sc = cpu.initState(2);
    const a = await gpu.forwardBackwardAsync(X, Y, sg);
    const b = cpu.forwardBackward(X, Y, sc);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
    for (let i = 0; i < b.stateGrad.h.length; i++) expect(a.stateGrad.h[i]).toBeCloseTo(b.stateGrad.h[i]!, 5);
    await gpu.sync();
    let worst = 0;
    for (let i = 0; i < cpu.flatGradients.length; i++) worst = Math.max(worst, Math.abs(gpu.flatGradients[i]! - cpu.flatGradients[i]!));
    expect(worst).toBeLessThan(1e-5);
    for (let i = 0; i < sc.h.length; i++) {
      expect(sg.h[i]).toBeCloseTo(sc.h[i]!, 5);
      expect(sg.c[i]).toBeCloseTo(sc.c[i]!, 5);
    }
    gpu.dispose();
  });
});
