// What a training run records in its checkpoints, so that `info` can show it and `--resume`
// can rebuild the same loader, optimiser and schedule. Stored in the checkpoint's `training`
// metadata: the resumable file holds fit's TrainingState plus `cli` (this), the best-model
// file a small summary (`BestSummary`).
import type { Vocab } from '../src/index.js';

/** Every setting of a run, resolved (defaults applied), as JSON. */
export interface RunSettings {
  /** The training text: its path as given, the SHA-256 of its bytes, its length in tokens. */
  text: { path: string; sha256: string; tokens: number };
  level: 'char' | 'word';
  layers: number;
  hidden: number;
  dropout: number;
  embedding: number | null;
  optimizer: 'sgd' | 'adam' | 'adamw' | 'rmsprop';
  lr: number;
  schedule: 'plateau' | 'constant' | 'cosine';
  batch: number;
  seq: number;
  valFraction: number;
  evalEvery: number;
  clip: number;
  /** The thread count the run computed with (resolved from 'auto'): a resumed run uses it again, so its numbers are the same. */
  threads: number;
  seed: number;
  epochs: number | null;
  maxSteps: number | null;
  timeLimit: number | null;
  /** The best-model file; the resumable one is `lastPath(output)`. */
  output: string;
}

/** `training.cli` of a resumable checkpoint. */
export interface RunRecord {
  format: 'lstm-lm/cli-run';
  version: 1;
  settings: RunSettings;
}

/** `training` of a best-model checkpoint: the run's settings and where it stood. */
export interface BestSummary {
  format: 'lstm-lm/cli-model';
  version: 1;
  settings: RunSettings;
  step: number;
  epoch: number;
  tokens: number;
  /** The validation loss of these weights (nats per token), or null: saved before any evaluation. */
  validationLoss: number | null;
}

/**
 * The resumable checkpoint beside a best-model file: `model.safetensors` →
 * `model.last.safetensors`; any other name gets `.last` appended.
 */
export function lastPath(output: string): string {
  return output.endsWith('.safetensors') ? `${output.slice(0, -'.safetensors'.length)}.last.safetensors` : `${output}.last`;
}

/** A text to start samples from: a line break where the vocabulary has one, else its most frequent token. */
export function defaultPrompt(vocab: Vocab): string {
  return vocab.has('\n') ? '\n' : vocab.idxToToken[vocab.size > 1 ? 1 : 0]!;
}
