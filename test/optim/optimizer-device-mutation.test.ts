// OptimizerBase's device hook and internals without a GPU (issue 13: src/optim/optimizer.ts's
// lines added for the webgpu backend, which only the slow SwiftShader tests covered): a fake
// ParameterDevice records the calls; the mixed-device TypeError's whole message; the internals'
// version, live buffers and `uncount`.
import { describe, expect, it } from 'vitest';
import { Adam } from '../../src/optim/adam.js';
import { optimizerInternals, type OptimizerBase } from '../../src/optim/optimizer.js';
import type { DeviceOptimizer, ParameterDevice, Trainable } from '../../src/optim/params.js';
import { SGD } from '../../src/optim/sgd.js';

type Call = { optimizer: DeviceOptimizer; t: number; lr: number; stepCount: number };

/** A device that records each step, with the optimiser's step count at the time of the call. */
function recordingDevice(fail = false): { device: ParameterDevice; calls: Call[] } {
  const calls: Call[] = [];
  const device: ParameterDevice = {
    optimizerStep(optimizer, t, lr) {
      calls.push({ optimizer, t, lr, stepCount: (optimizer as OptimizerBase<{ lr: number }>).stepCount });
      if (fail) throw new Error('device lost');
    },
  };
  return { device, calls };
}

const onDevice = (device: ParameterDevice | undefined): Trainable[] => [
  { data: Float32Array.of(1, -2, 3), grad: Float32Array.of(0.5, 0.25, -1), device },
  { data: Float32Array.of(0.5, 4), grad: Float32Array.of(2, -3), device },
];

describe('the device hook', () => {
  it('hands each step to the device with t and lr, counts it after, and leaves the host copy alone', () => {
    const { device, calls } = recordingDevice();
    const params = onDevice(device);
    const sgd = new SGD(params, { lr: 0.25, momentum: 0.9 });
    sgd.step();
    sgd.lr = 0.125;
    sgd.step();
    expect(calls.map(({ optimizer, t, lr, stepCount }) => ({ same: optimizer === sgd, t, lr, stepCount }))).toEqual([
      { same: true, t: 1, lr: 0.25, stepCount: 0 },
      { same: true, t: 2, lr: 0.125, stepCount: 1 },
    ]);
    expect(sgd.stepCount).toBe(2);
    expect([...params[0]!.data]).toEqual([1, -2, 3]); // the device updates; the host loop did not run
    expect([...params[1]!.data]).toEqual([0.5, 4]);
    expect([...sgd.stateDict().buffers['momentumBuffer']![0]!]).toEqual([0, 0, 0]);
  });

  it('a device that throws leaves the step count as it was', () => {
    const { device, calls } = recordingDevice(true);
    const adam = new Adam(onDevice(device), { lr: 0.5 });
    expect(() => adam.step()).toThrow('device lost');
    expect(calls).toHaveLength(1);
    expect(adam.stepCount).toBe(0);
  });

  it('host parameters are updated on the host, with the count moved before the update', () => {
    const params = onDevice(undefined);
    const sgd = new SGD(params, { lr: 0.5 });
    sgd.step();
    expect(sgd.stepCount).toBe(1);
    expect([...params[0]!.data]).toEqual([0.75, -2.125, 3.5]);
  });

  it('a list mixing devices is a TypeError at construction, naming both ends', () => {
    const a = recordingDevice().device, b = recordingDevice().device;
    const mixed = (first: ParameterDevice | undefined, second: ParameterDevice | undefined): Trainable[] => [
      { data: new Float32Array(2), grad: new Float32Array(2), device: first },
      { data: new Float32Array(2), grad: new Float32Array(2), device: first },
      { data: new Float32Array(2), grad: new Float32Array(2), device: second },
    ];
    expect(() => new SGD(mixed(undefined, a), { lr: 1 })).toThrow(
      /^Expected every parameter of one optimiser on the same device \(one model's\), got params\[0\] on the host and params\[2\] on another device\.$/,
    );
    expect(() => new SGD(mixed(a, undefined), { lr: 1 })).toThrow(
      /^Expected every parameter of one optimiser on the same device \(one model's\), got params\[0\] on a device and params\[2\] on the host\.$/,
    );
    expect(() => new SGD(mixed(a, b), { lr: 1 })).toThrow(TypeError);
    expect(() => new SGD(mixed(a, b), { lr: 1 })).toThrow(/got params\[0\] on a device and params\[2\] on another device\.$/);
    // One device throughout, and an empty list, are fine.
    expect(new SGD(mixed(a, a), { lr: 1 }).params).toHaveLength(3);
    expect(new SGD([], { lr: 1 }).stepCount).toBe(0);
  });

  it('the first parameter alone on a device: the second is the mismatch', () => {
    const a = recordingDevice().device;
    const params: Trainable[] = [
      { data: new Float32Array(1), grad: new Float32Array(1), device: a },
      { data: new Float32Array(1), grad: new Float32Array(1) },
    ];
    expect(() => new Adam(params)).toThrow(/got params\[0\] on a device and params\[1\] on the host\.$/);
  });
});

describe('optimizerInternals', () => {
  it('version counts loadStateDict calls; buffers are the live arrays', () => {
    const params = onDevice(undefined);
    const adam = new Adam(params, { lr: 0.5 });
    expect(optimizerInternals(adam).version).toBe(0);
    const internals = optimizerInternals(adam);
    expect(Object.keys(internals.buffers)).toEqual(['expAvg', 'expAvgSq']);
    adam.step();
    // The live buffers: the step wrote into them (exp_avg = 0.1·g).
    expect(internals.buffers['expAvg']![0]![0]).toBeCloseTo(0.05, 7);
    expect(optimizerInternals(adam).version).toBe(0); // a step is not a load
    const state = adam.stateDict();
    adam.loadStateDict(state);
    expect(optimizerInternals(adam).version).toBe(1);
    adam.loadStateDict(state);
    expect(optimizerInternals(adam).version).toBe(2);
    expect(() => adam.loadStateDict({ ...state, name: 'sgd' })).toThrow(RangeError);
    expect(optimizerInternals(adam).version).toBe(2); // a refused load changes nothing
  });

  it('uncount takes back one step, never below 0', () => {
    const sgd = new SGD(onDevice(undefined), { lr: 0.5 });
    sgd.step();
    sgd.step();
    const { uncount } = optimizerInternals(sgd);
    uncount();
    expect(sgd.stepCount).toBe(1);
    uncount();
    expect(sgd.stepCount).toBe(0);
    uncount();
    expect(sgd.stepCount).toBe(0);
    sgd.step();
    expect(sgd.stepCount).toBe(1);
  });
});
