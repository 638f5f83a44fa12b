import type { Vocab } from '../data/vocab.js';
import { tokenize, type TokenType } from '../data/tokenize.js';
import type { LSTMLanguageModel } from '../lstm/model.js';
import { show } from '../checks.js';

/**
 * Continues `prefix` by `numPreds` tokens, d2l's `predict_ch8`: a batch of one warms up on
 * the prefix (feeding the true prefix tokens), then each prediction is the argmax of the
 * logits, fed back as the next input. Returns the prefix followed by the predictions.
 * A prefix token the vocabulary does not know maps to `<unk>`.
 *
 * @example
 * predict(model, vocab, ['I', 'love'], 1); // ['I', 'love', 'cat'] once trained on "I love cat"
 */
export function predict(model: LSTMLanguageModel, vocab: Vocab, prefix: readonly string[], numPreds: number): string[] {
  if (typeof model !== 'object' || model === null || typeof model.forward !== 'function') {
    throw new TypeError(`Expected \`model\` to be an LSTMLanguageModel, got ${show(model)}.`);
  }
  if (typeof vocab !== 'object' || vocab === null || typeof vocab.encode !== 'function') {
    throw new TypeError(`Expected \`vocab\` to be a Vocab, got ${show(vocab)}.`);
  }
  if (vocab.size !== model.vocabSize) {
    throw new RangeError(`Expected \`vocab\` to have the model's ${model.vocabSize} tokens, got ${vocab.size}.`);
  }
  if (!Array.isArray(prefix) || prefix.some((t) => typeof t !== 'string')) {
    throw new TypeError(`Expected \`prefix\` to be an array of token strings, got ${show(prefix)}.`);
  }
  if (prefix.length === 0) throw new RangeError('Expected `prefix` to hold at least one token, got 0.');
  if (typeof numPreds !== 'number' || !Number.isInteger(numPreds) || numPreds < 0) {
    throw new RangeError(`Expected \`numPreds\` to be a non-negative integer, got ${show(numPreds)}.`);
  }
  const ids = vocab.encode(prefix);
  const state = model.initState(1);
  // Warm-up: feeding prefix[0 … n−2] in one call is the same as one token at a time.
  if (ids.length > 1) model.forward([ids.slice(0, -1)], state);
  const V = model.vocabSize;
  for (let i = 0; i < numPreds; i++) {
    const { logits } = model.forward([[ids[ids.length - 1]!]], state);
    let best = 0;
    for (let j = 1; j < V; j++) if (logits[j]! > logits[best]!) best = j;
    ids.push(best);
  }
  return [...prefix, ...vocab.decode(ids.slice(prefix.length))];
}

/**
 * {@link predict} on text: tokenizes `prefix` as `token` ('word': split on white space;
 * 'char': code points), predicts, and joins the result with ' ' (words) or '' (chars).
 *
 * @example
 * predictText(model, vocab, 'time traveller', 50, 'char'); // 'time traveller …' (50 more characters)
 */
export function predictText(
  model: LSTMLanguageModel, vocab: Vocab, prefix: string, numPreds: number, token: TokenType,
): string {
  if (typeof prefix !== 'string') throw new TypeError(`Expected \`prefix\` to be a string, got ${show(prefix)}.`);
  const tokens = tokenize([prefix], token)[0]!; // an empty prefix is predict's RangeError
  return predict(model, vocab, tokens, numPreds).join(token === 'word' ? ' ' : '');
}
