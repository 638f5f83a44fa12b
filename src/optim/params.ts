import type { FloatArray } from '../tensor/float-array.js';
import { show } from '../checks.js';

/** What the optimisers need of a parameter: values and a gradient of the same length. */
export interface Trainable {
  readonly data: FloatArray;
  readonly grad: FloatArray;
  /**
   * Where the parameter really lives when `data` and `grad` are only a host copy: the webgpu
   * backend's GPU. Optimisers hand their update to it (`optimizerStep`) instead of looping
   * over `data`.
   */
  readonly device?: ParameterDevice;
}

/**
 * A device that holds parameters (the webgpu backend): it runs an optimiser's update where
 * the numbers are. `optimizer` is the optimiser (its `name`, `options`, `params`, and its
 * state through `stateDict`/`loadStateDict`); `t` the 1-based step, `lr` its rate.
 */
export interface ParameterDevice {
  optimizerStep(optimizer: DeviceOptimizer, t: number, lr: number): void;
}

/** What a {@link ParameterDevice} reads of an optimiser. */
export interface DeviceOptimizer {
  readonly name: string;
  readonly options: object;
  readonly params: readonly Trainable[];
}

const isFloat = (a: unknown): boolean => a instanceof Float32Array || a instanceof Float64Array;

/** Throws unless `params` is an array of { data, grad } float arrays of equal lengths. */
export function checkTrainables(params: unknown): asserts params is readonly Trainable[] {
  if (!Array.isArray(params)) {
    throw new TypeError(`Expected \`params\` to be an array of parameters (model.parameters()), got ${show(params)}.`);
  }
  params.forEach((p: unknown, i) => {
    const data = (p as Partial<Trainable> | null)?.data;
    const grad = (p as Partial<Trainable> | null)?.grad;
    if (!isFloat(data) || !isFloat(grad)) {
      throw new TypeError(`Expected \`params[${i}]\` to have Float32Array/Float64Array \`data\` and \`grad\`, got ${show(p)}.`);
    }
    if (data!.length !== grad!.length) {
      throw new RangeError(`Expected \`params[${i}].grad\` to have the length of its data (${data!.length}), got ${grad!.length}.`);
    }
  });
}
