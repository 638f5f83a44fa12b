import type { FloatArray } from '../tensor/float-array.js';
import { alignedLength, type WorkspaceFactory } from '../backend/storage.js';
import type { ModelConfig } from './config.js';

/**
 * One layer's part of a workspace (n = B·H is one step's B×H block; rows are time-major
 * throughout — row t·B + b is step t of batch row b — so that the work that does not depend
 * on the recurrence is one product over all T·B rows):
 *
 *   gates    (4, T, B, H)  gate g ∈ (i, f, o, c) of step t at g·T·n + t·n: the pre-activations
 *                          Z, then (after the cell) the activations I, F, O, Ĉ
 *   hs       (T+1, B, H)   hs[0] = H_{−1} (the layer's state passed in), hs[t+1] = H_t
 *   cs       (T+1, B, H)   cs[0] = C_{−1},                               cs[t+1] = C_t
 *   tanhC    (T, B, H)     tanh(C_t), kept for backward
 *   dHs      (T, B, H)     the gradient reaching H_t: from above (the output layer or the next
 *                          layer's input), plus, added during backward of step t+1, the recurrence
 *   dGates   (4, T, B, H)  dZ, laid out as gates
 *   dh0, dc0 (B, H)        gradient reaching the state passed in; dc0 also carries dC during BPTT
 *   mask     (T, B, H)     with dropout: the layer output's mask, 0 or 1/(1−p); else null
 *   out      (T, B, H)     with dropout: H_t ⊙ mask, what the layer above reads; else null
 */
export interface LayerWorkspace {
  readonly gates: FloatArray;
  readonly hs: FloatArray;
  readonly cs: FloatArray;
  readonly tanhC: FloatArray;
  readonly dHs: FloatArray;
  readonly dGates: FloatArray;
  readonly dh0: FloatArray;
  readonly dc0: FloatArray;
  readonly mask: FloatArray | null;
  readonly out: FloatArray | null;
}

/**
 * Everything one forward/backward pass of a (B, T) batch writes, allocated once per shape and
 * reused, so the training loop allocates nothing:
 *
 *   xT, yT   (T, B)        token ids, time-major
 *   emb      (T·B, E)      with an embedding: the rows of W_embed for xT; else null
 *   dEmb     (T·B, E)      their gradient; else null
 *   layers   L × LayerWorkspace
 *   logits   (T·B, V)      Y stacked time-major; backward overwrites it with dY
 *   dh0, dc0 (L, B, H)     every layer's dh0/dc0 (theirs are views of these): the gradient
 *                          reaching the state passed in, laid out as the state
 */
export interface Workspace {
  readonly B: number;
  readonly T: number;
  readonly xT: Int32Array;
  readonly yT: Int32Array;
  readonly emb: FloatArray | null;
  readonly dEmb: FloatArray | null;
  readonly layers: readonly LayerWorkspace[];
  readonly logits: FloatArray;
  readonly dh0: FloatArray;
  readonly dc0: FloatArray;
}

/** Builds a workspace for (B, T) from blocks carved one after another. The one list of blocks. */
function buildWorkspace(
  config: ModelConfig, B: number, T: number,
  floats: (n: number) => FloatArray, ids: (n: number) => Int32Array,
): Workspace {
  const H = config.numHiddens, V = config.vocabSize, E = config.embeddingSize, n = B * H, N = T * B;
  const dropout = config.dropout > 0;
  const xT = ids(N), yT = ids(N);
  const emb = E === null ? null : floats(N * E);
  const dEmb = E === null ? null : floats(N * E);
  const L = config.numLayers;
  const dh0 = floats(L * n), dc0 = floats(L * n);
  const layers: LayerWorkspace[] = [];
  for (let l = 0; l < L; l++) {
    layers.push({
      gates: floats(4 * T * n),
      hs: floats((T + 1) * n),
      cs: floats((T + 1) * n),
      tanhC: floats(T * n),
      dHs: floats(T * n),
      dGates: floats(4 * T * n),
      dh0: dh0.subarray(l * n, (l + 1) * n),
      dc0: dc0.subarray(l * n, (l + 1) * n),
      mask: dropout ? floats(T * n) : null,
      out: dropout ? floats(T * n) : null,
    });
  }
  return { B, T, xT, yT, emb, dEmb, layers, logits: floats(N * V), dh0, dc0 };
}

/** The model's workspaces: sized and carved from the one list above. */
export function workspaceFactory(config: ModelConfig): WorkspaceFactory<Workspace> {
  return {
    size(B, T) {
      let floats = 0, ids = 0;
      const noFloats = new Float64Array(0), noIds = new Int32Array(0);
      buildWorkspace(config, B, T, (n) => ((floats += alignedLength(n)), noFloats), (n) => ((ids += alignedLength(n)), noIds));
      return { floats, ids };
    },
    create: (B, T, floats, ids) => buildWorkspace(config, B, T, floats, ids),
  };
}
