// The model boundary (src/lstm/inputs.ts) exactly (issue 13: Stryker survivors): a typed batch
// is read into the time-major rows on every call (not left from an earlier call of the same
// shape), and every malformed batch or state is refused with a message that names it.
import { describe, expect, it } from 'vitest';
import { LSTMLanguageModel } from '../../src/lstm/model.js';

const options = { vocabSize: 7, numHiddens: 4, seed: 3, initScale: 0.7, backend: 'js' as const };
const typed = (m: number[][]) => ({ data: Int32Array.from(m.flat()), batchSize: m.length, numSteps: m[0]!.length });

describe('model inputs', () => {
  const X = [[1, 2, 3], [4, 5, 6]], Y = [[2, 3, 4], [5, 6, 0]];
  const other = [[6, 6, 6], [0, 0, 0]];

  it('reads a typed batch afresh on every call: the same as number[][] on a fresh model, whatever came before', () => {
    const a = new LSTMLanguageModel(options), b = new LSTMLanguageModel(options);
    const fresh = a.forwardBackward(X, Y);
    const ga = a.flatGradients.slice();
    b.loss(other, other); // same shape, other ids: the workspace holds them now
    const viaTyped = b.forwardBackward(typed(X), typed(Y));
    expect(viaTyped.loss).toBe(fresh.loss);
    expect(b.flatGradients).toEqual(ga);
    expect(b.forward(typed(X)).logits).toEqual(a.forward(X).logits);
  });

  it('names what is wrong with a batch', () => {
    const m = new LSTMLanguageModel(options);
    const cases: [unknown, RegExp][] = [
      [null, /^Expected `X` to be an array of rows of token ids or a token batch, got null\.$/],
      [5, /^Expected `X` to be an array of rows of token ids or a token batch, got 5\.$/],
      [[], /^Expected `X` to have at least one row, got 0 rows\.$/],
      [[5], /^Expected `X\[0\]` to be an array of token ids, got 5\.$/],
      [[[]], /^Expected `X` rows to have at least one token, got 0\.$/],
      [[[1], 5], /^Expected `X\[1\]` to be an array of token ids, got 5\.$/],
      [[[1], [2, 3]], /^Expected every row of `X` to have 1 tokens \(as row 0\), got 2 in row 1\.$/],
      [{ data: [1, 2], batchSize: 1, numSteps: 2 }, /^Expected `X\.data` to be an Int32Array, got an array of length 2\.$/],
      [{ data: Int32Array.of(1, 2), batchSize: 0, numSteps: 2 }, /^Expected `X\.batchSize` to be a positive integer, got 0\.$/],
      [{ data: Int32Array.of(1, 2), batchSize: 1, numSteps: '2' }, /^Expected `X\.numSteps` to be a positive integer, got "2"\.$/],
      [{ data: Int32Array.of(1, 2, 3), batchSize: 1, numSteps: 2 }, /^Expected `X\.data` to hold batchSize·numSteps = 2 ids, got 3\.$/],
      [{ data: Int32Array.of(1, 7), batchSize: 1, numSteps: 2 }, /^Expected `X\[0\]\[1\]` to be a token id in \[0, 7\), got 7\.$/],
      [{ data: Int32Array.of(1, 2, 3, -1), batchSize: 2, numSteps: 2 }, /^Expected `X\[1\]\[1\]` to be a token id in \[0, 7\), got -1\.$/],
      [[[1, 7]], /^Expected `X\[0\]\[1\]` to be a token id in \[0, 7\), got 7\.$/],
    ];
    for (const [bad, message] of cases) {
      expect(() => m.forward(bad as never)).toThrow(message);
    }
  });

  it('names what is wrong with a state', () => {
    const m = new LSTMLanguageModel(options);
    expect(m.forward([[1]], null as never).state.h).toHaveLength(4); // null, like undefined: a fresh state
    expect(() => m.forward([[1]], 5 as never)).toThrow(/^Expected `state` to be \{ h, c \} from initState\(\), got 5\.$/);
    expect(() => m.forward([[1]], { h: new Float32Array(4), c: [0, 0, 0, 0] } as never)).toThrow(
      /^Expected `state\.c` to be a Float32Array or Float64Array, got an array of length 4\.$/,
    );
    expect(() => m.forward([[1]], { h: new Float32Array(5), c: new Float32Array(4) })).toThrow(
      /^Expected `state\.h` to hold numLayers·batchSize·numHiddens = 1·1·4 = 4 values, got 5\.$/,
    );
  });
});
