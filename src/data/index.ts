// The text pipeline: text → lines → tokens → vocabulary → corpus of ids → minibatches.
// Imports nothing from the model; only the seeded generator from src/tensor.
export { tokenize, type TokenType } from './tokenize.js';
export { Vocab, type VocabOptions, type VocabJSON } from './vocab.js';
export { preprocess, loadCorpus, type LoadCorpusOptions, type LoadedCorpus } from './corpus.js';
export type { TokenBatch, SeqBatch } from './batch.js';
export { seqDataIterSequential, seqDataIterRandom, type SeqBatchIterator } from './iterators.js';
export { SeqDataLoader, type SeqDataLoaderOptions } from './loader.js';
