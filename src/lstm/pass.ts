import type { FloatArray } from '../tensor/float-array.js';
import type { ModelConfig } from './config.js';
import type { ModelLayout } from './parameters.js';
import type { Workspace } from './workspace.js';

/**
 * The context every phase of one forward/backward call reads, passed to it as an argument:
 * the workspace of the call's (B, T), the model's layout, the parameter and gradient arrays
 * (re-read at the start of each call: a grown wasm memory re-creates them) and what the call
 * computes. One per workspace, made once; the model sets the per-call fields before running.
 */
export interface Pass {
  readonly config: ModelConfig;
  readonly layout: ModelLayout;
  readonly ws: Workspace;
  /** All parameters (flat). */
  W: FloatArray;
  /** All gradients, laid out as W. */
  dW: FloatArray;
  /** 0: logits only; 1: and the summed loss (dY left in place of the logits); 2: and dHs of the top layer. */
  mode: 0 | 1 | 2;
  /** Whether this call applies dropout (training, p > 0): layers above read the masked outputs. */
  dropout: boolean;
  // How this call's phases are split, set per call from its shape by `planSplit` (runner.ts):
  /** The parts of every phase but the recurrence's. */
  parts: number;
  /** Whether the recurrence is split by hidden units (one phase per step) rather than by batch rows (one phase). */
  byUnits: boolean;
  /** The parts of the recurrence's phases. */
  recurrenceParts: number;
}

/** A phase context for layer `l` of a pass; `t` is the step of a per-step phase (set by its driver). */
export interface LayerContext {
  readonly pass: Pass;
  readonly l: number;
  t: number;
  /**
   * The weight gradients' shares (layer.ts, weightGradientShare), worked out by the call's
   * first part and kept for the others: the part count they are for, and the most work a part
   * gets. (The context is made once per workspace, the shape fixed.)
   */
  shareParts?: number;
  shareCapacity?: number;
}
