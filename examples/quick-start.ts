import { LSTMLanguageModel, SGD, SeqDataLoader, loadCorpus, predict, train } from '../src/index.js';

const { corpus, vocab } = loadCorpus(Array(1000).fill('I love cat'), { token: 'word', maxTokens: 10000 });
const loader = new SeqDataLoader(corpus, { batchSize: 32, numSteps: 35 });
const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: 256 });
const optimizer = new SGD(model.parameters(), { lr: 1 });

train(model, loader, optimizer, {
  epochs: 100,
  clipNorm: 1,
  onEpoch: ({ epoch, perplexity }) => {
    if (epoch % 25 === 0) console.log(`epoch ${epoch}: perplexity ${perplexity.toFixed(4)}`);
  },
});
console.log(predict(model, vocab, ['I', 'love'], 1).join(' '), `(${model.backend})`);
