// The seed notebook, reproduced: d2l's LSTM from scratch on "I love cat" × 1000 lines, word
// tokens, sequential batches of 32 × 35, 256 hidden units, SGD lr 1, gradients clipped to
// norm 1, 100 epochs. Run: npm run demo
import { LSTMLanguageModel, SGD, SeqDataLoader, loadCorpus, predict, train } from '../src/index.js';

const lines = Array.from({ length: 1000 }, () => 'I love cat');
const { corpus, vocab } = loadCorpus(lines, { token: 'word', maxTokens: 10000 });
const loader = new SeqDataLoader(corpus, { batchSize: 32, numSteps: 35, seed: 0 });
const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 256, seed: 0 });
const optimizer = new SGD(model.parameters(), { lr: 1 });

console.log(`vocabulary ${vocab.size} tokens (${vocab.idxToToken.join(', ')}), corpus ${corpus.length} tokens`);
const history = train(model, loader, optimizer, {
  epochs: 100,
  clipNorm: 1,
  onEpoch: ({ epoch, perplexity, tokensPerSecond, elapsedMs }) => {
    if (epoch % 10 === 0) {
      console.log(
        `epoch ${epoch} perplexity ${perplexity.toFixed(4)}  ` +
          `${Math.round(tokensPerSecond).toLocaleString('en-US')} tokens/s  ${(elapsedMs / 1000).toFixed(1)} s`,
      );
    }
  },
});
const final = history[history.length - 1]!;
console.log(`final perplexity ${final.perplexity.toFixed(4)} (backend: ${model.backend})`);
console.log(predict(model, vocab, ['I', 'love'], 1).join(' '));
