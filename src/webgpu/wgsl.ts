// The shape every WGSL kernel takes, and what they share. A kernel is generated from
// TypeScript as a string; it addresses the model's one GPU buffer by element offsets (the
// same numbers as the host mirror's, see src/webgpu/gpu.ts) and reads its arguments from a
// uniform block: the raw call's numbers, in the order of the wasm export (src/backend/table.ts).
//
// Bindings, the same for every kernel (one bind group layout, one pipeline layout):
//   0  mem:  array<u32>, read_write   parameters | gradients | ids | workspace (the mirror's layout)
//   1  a:    uniform Args             this call's arguments (a 256-byte slot, dynamic offset)
//   2  aux:  array<f32>, read_write   GPU-only scratch: per-row losses, reductions, results
//   3  opt:  array<f32>, read_write   an optimiser's state (its kernels only; else a dummy)
//   4  opt2: array<f32>, read_write   a second buffer (a snapshot to restore from; else a dummy)
// mem holds floats and token ids side by side, so it is read as u32: an id is mem[i], a float
// ld(i) = bitcast<f32>(mem[i]) and st(i, x) stores one. (Read as f32, a small id would be a
// subnormal float, which GPUs may flush to zero; and WebGPU forbids binding one buffer twice
// as writable storage.)

/** The type of one argument: an element offset or size (u32), or a real (f32). */
export type ArgType = 'u32' | 'f32';

/** A generated compute kernel. */
export interface WgslKernel {
  /** The arguments, in the raw call's order, with their types. */
  readonly args: readonly (readonly [name: string, type: ArgType])[];
  /** The WGSL module: the bindings, `struct Args`, and `fn main`. */
  readonly code: string;
  /** The workgroups to dispatch for a call with arguments `a` (by name). */
  readonly workgroups: (a: Readonly<Record<string, number>>) => readonly [number, number, number];
  /**
   * A kernel with the same arguments and results to run instead when `when(a)` — a shape the
   * main one runs badly (the products: few output tiles).
   */
  readonly alternative?: { readonly when: (a: Readonly<Record<string, number>>) => boolean; readonly kernel: WgslKernel };
}

/** The largest workgroup count per dimension every WebGPU device supports. */
export const MAX_GROUPS = 65535;

/** Workgroups for `count` independent items, `size` per workgroup: x first, then y rows of x. */
export function grid(count: number, size: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / size));
  if (groups <= MAX_GROUPS) return [groups, 1, 1];
  return [MAX_GROUPS, Math.ceil(groups / MAX_GROUPS), 1];
}

const BINDINGS = `
@group(0) @binding(0) var<storage, read_write> mem: array<u32>;
@group(0) @binding(2) var<storage, read_write> aux: array<f32>;
@group(0) @binding(3) var<storage, read_write> opt: array<f32>;
@group(0) @binding(4) var<storage, read_write> opt2: array<f32>;
fn ld(i: u32) -> f32 { return bitcast<f32>(mem[i]); }
fn st(i: u32, x: f32) { mem[i] = bitcast<u32>(x); }
`;

/**
 * Shared functions. `sigmoid` is the reference's two branches (neither overflows); `tanh_`
 * clamps first, since some implementations compute tanh through exp and return NaN for
 * |x| ≳ 44 (tanh(15) is 1 in float32 already).
 */
const FUNCTIONS = `
fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
`;

/**
 * Builds a kernel: the bindings, `struct Args` from `args` (bound as `a`), the shared
 * functions, then `body` (which declares `@compute … fn main`).
 */
export function wgslKernel(
  args: WgslKernel['args'], body: string, workgroups: WgslKernel['workgroups'], alternative?: WgslKernel['alternative'],
): WgslKernel {
  const fields = args.map(([name, type]) => `  ${name}: ${type},`).join('\n');
  const code = `${BINDINGS}struct Args {\n${fields}\n}\n@group(0) @binding(1) var<uniform> a: Args;\n${FUNCTIONS}${body}`;
  return alternative === undefined ? { args, code, workgroups } : { args, code, workgroups, alternative };
}

/**
 * The entry point of a kernel over `count` items, 256 per workgroup on a 2-D grid (see
 * `grid`): declares `i`, the item, and returns early past `count` (an expression on `a`).
 */
export function elementwiseMain(count: string, body: string): string {
  return `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= ${count}) { return; }
${body}
}`;
}

/** Arguments of the given names, all u32. */
export const u32s = (...names: string[]): [string, ArgType][] => names.map((n) => [n, 'u32']);
