import { KERNEL_NAMES, KERNEL_TABLE, wrapExports, type KernelName, type Kernels, type Pointer, type RawKernel } from '../backend/table.js';
import type { FloatArray } from '../tensor/float-array.js';
import { sumWgsl } from './kernels/reduce.js';
import type { WgslKernel } from './wgsl.js';

// The webgpu backend's engine: the model's numbers in one GPU buffer laid out exactly as the
// host mirror (a WebAssembly.Memory the Storage carves as for wasm: parameters | gradients |
// ids | workspace), so a view's element index on the host, byteOffset / 4 + offset, is its
// index on the GPU. Kernel calls are *recorded* — the phases of src/lstm/ run unchanged
// against a kernel set whose raw functions append a dispatch — and submitted together by
// `flush()`, so a whole forward/backward (and an optimiser step) is queued with no readback.
// What the host writes between phases (ids, the state passed in, dropout masks) goes up with
// `upload`, after the commands recorded before it; `read` brings views back, asynchronously.

// GPUBufferUsage and GPUMapMode, as numbers: Node's Dawn does not define the globals.
const MAP_READ = 0x1, COPY_SRC = 0x4, COPY_DST = 0x8, UNIFORM = 0x40, STORAGE = 0x80;
/** Bytes per call's arguments: the minimum dynamic-offset alignment of every device. */
const SLOT = 256;
/**
 * aux: RESULTS result slots first — slots [0, LOSS_SLOTS) take the losses of calls (`sumLoss`),
 * the rest belong to other kernels (32–34 and 40–63 clipping and the optimisers' skip flag:
 * src/webgpu/clip.ts, kernels/optim.ts; 35–37 a training step's guard: calls.ts) — then the
 * per-row losses.
 */
export const RESULTS = 64;
const LOSS_SLOTS = 32;
/** Command words: [kind, a, b, c, d, e, bind group]. */
const WORDS = 7;
const DISPATCH = 0, CLEAR = 1, COPY = 2, COPY_BUFFERS = 3;

/** What a read returns into: host views (of the mirror or not) and where they are on the GPU. */
export interface ReadRequest {
  /** Element index in mem (or in aux when `aux`). */
  readonly at: number;
  /** Elements. */
  readonly length: number;
  readonly into: FloatArray;
  /** Where in `into` the elements go (default 0). */
  readonly offset?: number;
  /** Read from aux (result slots: `sumLoss`, `RESULTS`) instead of mem. */
  readonly aux?: boolean;
  /** Read from this buffer (made by `createBuffer`) instead of mem. */
  readonly buffer?: GPUBuffer;
}

/**
 * The GPU side of a webgpu model: its buffers, pipelines and the recorded commands.
 * `kernels` is the kernel set the phases run on.
 */
export class GpuEngine {
  readonly device: GPUDevice;
  readonly kernels: Kernels;
  /**
   * Whether the parameters or gradients may have changed on the GPU since the host copy was
   * last made current: set by what changes them (backward, optimiser steps), cleared by the
   * model's sync() and upload().
   */
  hostStale = false;
  readonly #memory: WebAssembly.Memory;
  readonly #layout: GPUBindGroupLayout;
  readonly #pipelines: GPUComputePipeline[];
  readonly #specs: WgslKernel[];
  /** Pipelines by kernel object: `dispatch` compiles a kernel on its first use. */
  readonly #kernelIndex: Map<WgslKernel, number>;
  readonly #sum: number; // pipeline index of the loss sum
  #mirror: ArrayBuffer | undefined; // the memory buffer the GPU buffer was sized for
  #mem!: GPUBuffer;
  #aux!: GPUBuffer;
  #auxRows = 0;
  #args!: GPUBuffer;
  #dummy: GPUBuffer;
  #dummy2: GPUBuffer; // (one buffer may not be bound twice as writable storage)
  #bindGroup: GPUBindGroup | undefined;
  /** Pairs of buffers bound at bindings 3 and 4 (`opt`, `opt2`) by `dispatch`: index + 1 is a command's bind group. */
  readonly #optBuffers: [GPUBuffer, GPUBuffer][] = [];
  #optGroups: GPUBindGroup[] = [];
  /** Buffers made by `createBuffer`, for COPY commands: index in this list. */
  readonly #buffers: GPUBuffer[] = [];
  #pipelineLayout: GPUPipelineLayout;
  // Recorded, not yet submitted: arguments (one SLOT each) and commands.
  #argBytes = new ArrayBuffer(SLOT * 256);
  #argU32 = new Uint32Array(this.#argBytes);
  #argF32 = new Float32Array(this.#argBytes);
  #calls = 0;
  #commands = new Int32Array(WORDS * 1024);
  #count = 0;
  /** Per-row losses recorded since the last `sumLoss`. */
  #rows = 0;
  #nextResult = 0;
  readonly #errors: Promise<GPUError | null>[] = [];
  /** Staging buffers for reads, unmapped and free (a read takes one and gives it back). */
  readonly #staging: GPUBuffer[] = [];
  #lost = false;
  #destroyed = false;
  // A call's arguments, positional and by name: reused, so that recording allocates nothing.
  readonly #values: number[] = new Array<number>(10).fill(0);
  readonly #named: Record<string, number> = {};

  constructor(device: GPUDevice, memory: WebAssembly.Memory) {
    this.device = device;
    this.#memory = memory;
    const storage = (binding: number): GPUBindGroupLayoutEntry =>
      ({ binding, visibility: 4 /* COMPUTE */, buffer: { type: 'storage' } });
    this.#layout = device.createBindGroupLayout({
      entries: [
        storage(0),
        { binding: 1, visibility: 4, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: SLOT } },
        storage(2), storage(3), storage(4),
      ],
    });
    const layout = device.createPipelineLayout({ bindGroupLayouts: [this.#layout] });
    this.#pipelineLayout = layout;
    this.#specs = [...KERNEL_NAMES.map((name) => KERNEL_TABLE[name].wgsl()), sumWgsl()];
    this.#sum = this.#specs.length - 1;
    device.pushErrorScope('validation');
    this.#pipelines = this.#specs.map((spec) => device.createComputePipeline({
      layout, compute: { module: device.createShaderModule({ code: spec.code }), entryPoint: 'main' },
    }));
    this.#errors.push(device.popErrorScope());
    this.#kernelIndex = new Map(this.#specs.map((spec, k) => [spec, k]));
    this.#dummy = device.createBuffer({ size: 16, usage: STORAGE });
    this.#dummy2 = device.createBuffer({ size: 16, usage: STORAGE });
    this.#args = device.createBuffer({ size: this.#argBytes.byteLength, usage: UNIFORM | COPY_DST });
    this.#ensureAux(1024);
    this.#ensureMem();
    void device.lost?.then(() => { this.#lost = true; });
    const raw = Object.fromEntries(KERNEL_NAMES.map((name, k) => [name, this.#raw(name, k)])) as Record<KernelName, RawKernel>;
    const element: Pointer = (array, offset) => (array as Float32Array).byteOffset / 4 + offset;
    this.kernels = wrapExports(raw, element);
  }

  /**
   * The raw function of kernel `name` (pipeline k): records a dispatch with its arguments.
   * Fixed arity, so that a call allocates nothing; softmaxCrossEntropy also gets where its
   * rows' losses go.
   */
  #raw(name: KernelName, k: number): RawKernel {
    const spec = this.#specs[k]!;
    const n = spec.args.length;
    const lossAt = name === 'softmaxCrossEntropy' ? spec.args.findIndex(([argName]) => argName === 'lossAt') : -1;
    const rows = spec.args.findIndex(([argName]) => argName === 'M');
    const v = this.#values;
    return ((a0: number, a1: number, a2: number, a3: number, a4: number, a5: number, a6: number, a7: number,
      a8: number, a9: number) => {
      v[0] = a0; v[1] = a1; v[2] = a2; v[3] = a3; v[4] = a4; v[5] = a5; v[6] = a6; v[7] = a7; v[8] = a8; v[9] = a9;
      this.#ensureMem(); // commands recorded before the mirror grew run on the old buffer
      if (lossAt >= 0) {
        this.#ensureAux(this.#rows + v[rows]!); // before taking a slot: it may flush
        v[lossAt] = RESULTS + this.#rows;
        this.#rows += v[rows]!;
      }
      const slot = this.#slot();
      const base = slot * (SLOT / 4);
      const named = this.#named;
      for (let i = 0; i < n; i++) {
        const arg = spec.args[i]!; // (no destructuring: it would make an iterator per call)
        if (arg[1] === 'f32') this.#argF32[base + i] = v[i]!;
        else this.#argU32[base + i] = v[i]!;
        named[arg[0]] = v[i]!;
      }
      const alt = spec.alternative;
      if (alt !== undefined && alt.when(named)) {
        const [x, y, z] = alt.kernel.workgroups(named);
        this.#command(DISPATCH, this.#pipelineOf(alt.kernel), slot, x, y, z);
      } else {
        const [x, y, z] = spec.workgroups(named);
        this.#command(DISPATCH, k, slot, x, y, z);
      }
      return 0;
    }) as RawKernel;
  }

  #slot(): number {
    if (this.#calls * SLOT >= this.#argBytes.byteLength) {
      const bigger = new ArrayBuffer(this.#argBytes.byteLength * 2);
      new Uint8Array(bigger).set(new Uint8Array(this.#argBytes));
      this.#argBytes = bigger;
      this.#argU32 = new Uint32Array(bigger);
      this.#argF32 = new Float32Array(bigger);
    }
    return this.#calls++;
  }

  #command(kind: number, a: number, b: number, c: number, d: number, e: number, group = 0): void {
    if ((this.#count + 1) * WORDS > this.#commands.length) {
      const bigger = new Int32Array(this.#commands.length * 2);
      bigger.set(this.#commands);
      this.#commands = bigger;
    }
    const w = this.#count++ * WORDS;
    this.#commands[w] = kind;
    this.#commands[w + 1] = a;
    this.#commands[w + 2] = b;
    this.#commands[w + 3] = c;
    this.#commands[w + 4] = d;
    this.#commands[w + 5] = e;
    this.#commands[w + 6] = group;
  }

  /**
   * Records a dispatch of `kernel` (any kernel built by `wgslKernel`, compiled on first use)
   * with `args` in its argument order; `opt` and `opt2` (buffers from `createBuffer`) are bound
   * as `opt` and `opt2`. For kernels beyond the table's: optimisers, clipping, the guard.
   */
  dispatch(kernel: WgslKernel, args: ArrayLike<number>, opt?: GPUBuffer, opt2?: GPUBuffer): void {
    this.#ensureMem();
    const k = this.#pipelineOf(kernel);
    let group = 0;
    if (opt !== undefined || opt2 !== undefined) {
      const a = opt ?? this.#dummy, b = opt2 ?? this.#dummy;
      group = this.#optBuffers.findIndex(([x, y]) => x === a && y === b) + 1;
      if (group === 0) {
        this.#optBuffers.push([a, b]);
        group = this.#optBuffers.length;
      }
    }
    const slot = this.#slot();
    const base = slot * (SLOT / 4);
    const named = this.#named;
    kernel.args.forEach(([argName, type], i) => {
      if (type === 'f32') this.#argF32[base + i] = args[i]!;
      else this.#argU32[base + i] = args[i]!;
      named[argName] = args[i]!;
    });
    const [x, y, z] = kernel.workgroups(named);
    this.#command(DISPATCH, k, slot, x, y, z, group);
  }

  /** The pipeline index of `kernel`, compiled on its first use. */
  #pipelineOf(kernel: WgslKernel): number {
    let k = this.#kernelIndex.get(kernel);
    if (k === undefined) {
      this.device.pushErrorScope('validation');
      this.#pipelines.push(this.device.createComputePipeline({
        layout: this.#pipelineLayout,
        compute: { module: this.device.createShaderModule({ code: kernel.code }), entryPoint: 'main' },
      }));
      this.#errors.push(this.device.popErrorScope());
      this.#specs.push(kernel);
      k = this.#specs.length - 1;
      this.#kernelIndex.set(kernel, k);
    }
    return k;
  }

  /** A GPU buffer of `floats` zeros that kernels can bind as `opt` and `read` can read. */
  createBuffer(floats: number): GPUBuffer {
    const buffer = this.device.createBuffer({ size: 4 * Math.max(4, floats), usage: STORAGE | COPY_SRC | COPY_DST });
    this.#buffers.push(buffer);
    return buffer;
  }

  /** Copies `data` into `buffer` from element `at`, after every command recorded so far. */
  write(buffer: GPUBuffer, at: number, data: Float32Array): void {
    this.flush();
    this.device.queue.writeBuffer(buffer, 4 * at, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Records copying `length` elements between mem and `buffer` (a snapshot of the parameters,
   * and putting it back): `toBuffer` true copies mem[at…] to buffer[bufferAt…].
   */
  copy(buffer: GPUBuffer, bufferAt: number, at: number, length: number, toBuffer: boolean): void {
    this.#ensureMem();
    const index = this.#buffers.indexOf(buffer);
    if (index < 0) throw new RangeError('Expected a buffer made by this engine\'s createBuffer.');
    this.#command(COPY, index, bufferAt, at, length, toBuffer ? 1 : 0);
  }

  /** Records copying the first `length` elements of buffer `from` to `to` (both from `createBuffer`). */
  copyBuffer(from: GPUBuffer, to: GPUBuffer, length: number): void {
    this.#ensureMem();
    const a = this.#buffers.indexOf(from), b = this.#buffers.indexOf(to);
    if (a < 0 || b < 0) throw new RangeError('Expected buffers made by this engine\'s createBuffer.');
    this.#command(COPY_BUFFERS, a, b, length, 0, 0);
  }

  /** Records setting `length` elements of mem from element `at` to zero. */
  clear(at: number, length: number): void {
    this.#ensureMem();
    this.#command(CLEAR, at, length, 0, 0, 0);
  }

  /** Records the sum of the per-row losses recorded since the last call; returns its aux slot. */
  sumLoss(): number {
    const slot = this.#nextResult;
    this.#nextResult = (this.#nextResult + 1) % LOSS_SLOTS;
    const s = this.#slot();
    const base = s * (SLOT / 4);
    this.#argU32[base] = slot;
    this.#argU32[base + 1] = RESULTS;
    this.#argU32[base + 2] = this.#rows;
    this.#rows = 0;
    this.#command(DISPATCH, this.#sum, s, 1, 1, 1);
    return slot;
  }

  /** Element index of a view of the mirror. */
  static at(view: FloatArray | Int32Array): number {
    return view.byteOffset / 4;
  }

  /** Copies `view` (a view of the mirror) to the GPU, after every command recorded so far. */
  upload(view: FloatArray | Int32Array, offset = 0, length = view.length - offset): void {
    if (length === 0) return;
    this.flush();
    this.device.queue.writeBuffer(this.#mem, view.byteOffset + 4 * offset, view.buffer, view.byteOffset + 4 * offset, 4 * length);
  }

  /** Submits every recorded command. */
  flush(): void {
    this.#ensureMem();
    if (this.#count > 0) this.#submit();
  }

  #submit(): void {
    this.#check();
    const device = this.device;
    device.pushErrorScope('validation');
    if (this.#args.size < this.#calls * SLOT) {
      this.#args.destroy();
      this.#args = device.createBuffer({ size: this.#argBytes.byteLength, usage: UNIFORM | COPY_DST });
      this.#bind();
    }
    device.queue.writeBuffer(this.#args, 0, this.#argBytes, 0, this.#calls * SLOT);
    const encoder = device.createCommandEncoder();
    let pass: GPUComputePassEncoder | undefined;
    const c = this.#commands;
    for (let i = 0; i < this.#count; i++) {
      const w = i * WORDS;
      if (c[w] !== DISPATCH) {
        pass?.end();
        pass = undefined;
        if (c[w] === CLEAR) encoder.clearBuffer(this.#mem, 4 * c[w + 1]!, 4 * c[w + 2]!);
        else if (c[w] === COPY_BUFFERS) encoder.copyBufferToBuffer(this.#buffers[c[w + 1]!]!, 0, this.#buffers[c[w + 2]!]!, 0, 4 * c[w + 3]!);
        else {
          const other = this.#buffers[c[w + 1]!]!, otherAt = 4 * c[w + 2]!, memAt = 4 * c[w + 3]!, bytes = 4 * c[w + 4]!;
          if (c[w + 5] === 1) encoder.copyBufferToBuffer(this.#mem, memAt, other, otherAt, bytes);
          else encoder.copyBufferToBuffer(other, otherAt, this.#mem, memAt, bytes);
        }
        continue;
      }
      if (pass === undefined) {
        pass = encoder.beginComputePass();
      }
      pass.setPipeline(this.#pipelines[c[w + 1]!]!);
      pass.setBindGroup(0, this.#group(c[w + 6]!), [c[w + 2]! * SLOT]);
      pass.dispatchWorkgroups(c[w + 3]!, c[w + 4]!, c[w + 5]!);
    }
    pass?.end();
    device.queue.submit([encoder.finish()]);
    this.#errors.push(device.popErrorScope());
    this.#count = 0;
    this.#calls = 0;
  }

  /**
   * Submits what is recorded, then copies each request's elements back into its `into`
   * (from mem, or from aux). Resolves when they are there; rejects with the GPU's
   * validation error if a command failed.
   */
  async read(requests: readonly ReadRequest[]): Promise<void> {
    this.flush();
    let bytes = 0;
    for (const r of requests) bytes += 4 * r.length;
    if (bytes === 0) {
      const errors = this.#errors.splice(0);
      await this.device.queue.onSubmittedWorkDone();
      await this.#throwErrors(errors);
      return;
    }
    const staging = this.#takeStaging(bytes);
    const encoder = this.device.createCommandEncoder();
    let offset = 0;
    for (const r of requests) {
      if (r.length === 0) continue;
      encoder.copyBufferToBuffer(r.buffer ?? (r.aux === true ? this.#aux : this.#mem), 4 * r.at, staging, offset, 4 * r.length);
      offset += 4 * r.length;
    }
    this.device.queue.submit([encoder.finish()]);
    const errors = this.#errors.splice(0); // this read's and earlier commands' (not later ones')
    try {
      await staging.mapAsync(1 /* GPUMapMode.READ */);
      await this.#throwErrors(errors);
      const data = new Float32Array(staging.getMappedRange());
      offset = 0;
      for (const r of requests) {
        const o = r.offset ?? 0;
        for (let k = 0; k < r.length; k++) r.into[o + k] = data[offset + k]!;
        offset += r.length;
      }
      staging.unmap();
      this.#staging.push(staging); // mapped and unmapped cleanly: reusable
    } catch (error) {
      staging.destroy();
      throw error;
    }
  }

  /** A mappable buffer of at least `bytes` (a power of two, from the free list when one fits). */
  #takeStaging(bytes: number): GPUBuffer {
    const k = this.#staging.findIndex((b) => b.size >= bytes);
    if (k >= 0) return this.#staging.splice(k, 1)[0]!;
    return this.device.createBuffer({ size: Math.max(256, 2 ** Math.ceil(Math.log2(bytes))), usage: MAP_READ | COPY_DST });
  }

  /** Throws the first validation error among `pending` (the scopes of commands submitted before a read). */
  async #throwErrors(pending: Promise<GPUError | null>[]): Promise<void> {
    for (const error of await Promise.all(pending)) {
      if (error !== null) throw new Error(`WebGPU error in the webgpu backend: ${error.message}`);
    }
    this.#check();
  }

  #check(): void {
    if (this.#destroyed) throw new Error('This webgpu model was disposed: its GPU buffers are freed.');
    if (this.#lost) throw new Error('The GPU device of this webgpu model was lost; make a new model (or load a checkpoint) on a new device.');
  }

  /** The GPU buffer follows the mirror: made again (contents copied) when the memory grew. */
  #ensureMem(): void {
    if (this.#destroyed) this.#check();
    const mirror = this.#memory.buffer;
    if (mirror === this.#mirror) return;
    const old = this.#mem;
    const oldSize = old?.size ?? 0; // not the old mirror's: growing detached it (byteLength 0)
    this.#mirror = mirror;
    if (old !== undefined && this.#count > 0) this.#submit(); // recorded on the old layout: run them there
    this.#mem = this.device.createBuffer({ size: mirror.byteLength, usage: STORAGE | COPY_SRC | COPY_DST });
    if (old !== undefined) {
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(old, 0, this.#mem, 0, oldSize);
      this.device.queue.submit([encoder.finish()]);
      old.destroy();
    }
    this.#bindGroup = undefined;
    this.#bind();
  }

  #ensureAux(rows: number): void {
    if (rows <= this.#auxRows) return;
    const old = this.#aux;
    // Commands recorded so far run on the old buffer; then its contents (result slots not yet
    // read, flags, per-row losses not yet summed) move to the new one.
    if (old !== undefined) this.flush();
    this.#auxRows = Math.max(rows, 2 * this.#auxRows);
    this.#aux = this.device.createBuffer({ size: 4 * (RESULTS + this.#auxRows), usage: STORAGE | COPY_SRC | COPY_DST });
    if (old !== undefined) {
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(old, 0, this.#aux, 0, old.size);
      this.device.queue.submit([encoder.finish()]);
      old.destroy();
    }
    this.#bindGroup = undefined;
    this.#bind();
  }

  #bind(): void {
    this.#optGroups = [];
    if (this.#mem === undefined || this.#aux === undefined) return;
    this.#bindGroup = this.#makeGroup(this.#dummy, this.#dummy2);
  }

  #makeGroup(opt: GPUBuffer, opt2: GPUBuffer): GPUBindGroup {
    return this.device.createBindGroup({
      layout: this.#layout,
      entries: [
        { binding: 0, resource: { buffer: this.#mem } },
        { binding: 1, resource: { buffer: this.#args, size: SLOT } },
        { binding: 2, resource: { buffer: this.#aux } },
        { binding: 3, resource: { buffer: opt } },
        { binding: 4, resource: { buffer: opt2 } },
      ],
    });
  }

  /** Bind group `group`: 0 the default, k the one with #optBuffers[k − 1] as `opt`, `opt2`. */
  #group(group: number): GPUBindGroup {
    if (group === 0) return this.#bindGroup!;
    const [a, b] = this.#optBuffers[group - 1]!;
    return (this.#optGroups[group] ??= this.#makeGroup(a, b));
  }

  /** Frees the GPU buffers (the device stays the caller's); later calls throw. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#mem?.destroy();
    this.#aux?.destroy();
    this.#args.destroy();
    this.#dummy.destroy();
    this.#dummy2.destroy();
    for (const b of this.#buffers) b.destroy();
    for (const b of this.#staging) b.destroy();
  }
}
