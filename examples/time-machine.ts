// d2l's chapter run, character level: an LSTM of 256 hidden units on the first 10,000
// characters of a text (d2l's Time Machine preprocessing: letters only, lower case), batches
// of 32 × 35, SGD lr 1, gradients clipped to norm 1. Every 10 epochs it prints the perplexity
// and a 50-character prediction from "time traveller", like the book; at the end it writes
// the perplexity curve as an SVG file.
//
//   node --import tsx examples/time-machine.ts [path] [--epochs 500] [--threads 2] [--svg out/time-machine.svg]
//
// Any text file works; the default is d2l's copy of The Time Machine in data/ (data/README.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LSTMLanguageModel, SGD, SeqDataLoader, loadCorpus, predictText, preprocess, train } from '../src/index.js';
import { nodeWorkerFactory } from '../node/index.js';
import { dataFile, integer, parseCommandLine, positiveInteger, readText } from './lib/cli.js';
import { lineChart } from './lib/svg-plot.js';

const { values, positionals } = parseCommandLine({
  allowPositionals: true,
  options: {
    epochs: { type: 'string', default: '500' },
    hidden: { type: 'string', default: '256' },
    svg: { type: 'string', default: 'out/time-machine.svg' },
    seed: { type: 'string', default: '0' },
    threads: { type: 'string', default: '1' },
  },
});
const path = positionals[0] ?? dataFile('timemachine.txt');
const epochs = positiveInteger('epochs', values.epochs);
const hidden = positiveInteger('hidden', values.hidden);
const threads = positiveInteger('threads', values.threads);

const { corpus, vocab } = loadCorpus(preprocess(readText(path)), { token: 'char', maxTokens: 10000 });
const seed = integer('seed', values.seed);
const loader = new SeqDataLoader(corpus, { batchSize: 32, numSteps: 35, seed });
const model = new LSTMLanguageModel({
  vocabSize: vocab.size, numHiddens: hidden, seed, threads, createWorker: nodeWorkerFactory,
});
const optimizer = new SGD(model.parameters(), { lr: 1 });
console.log(`${path}: ${corpus.length} characters, vocabulary of ${vocab.size}; ${model.backend} backend, ${model.threads} thread(s)`);

const history = train(model, loader, optimizer, {
  epochs,
  clipNorm: 1,
  onEpoch: ({ epoch, perplexity, tokensPerSecond, elapsedMs }) => {
    if (epoch % 10 === 0 || epoch === epochs) {
      console.log(
        `epoch ${epoch} perplexity ${perplexity.toFixed(2)}  ${Math.round(tokensPerSecond).toLocaleString('en-US')} tokens/s  ` +
          `${(elapsedMs / 1000).toFixed(1)} s  ${JSON.stringify(predictText(model, vocab, 'time traveller', 50, 'char'))}`,
      );
    }
  },
});

const last = history[history.length - 1]!;
console.log(`perplexity ${last.perplexity.toFixed(2)}, ${Math.round(last.tokensPerSecond).toLocaleString('en-US')} tokens/s`);
console.log(predictText(model, vocab, 'time traveller', 50, 'char'));
console.log(predictText(model, vocab, 'traveller', 50, 'char'));

const svgPath = resolve(values.svg);
mkdirSync(dirname(svgPath), { recursive: true });
writeFileSync(svgPath, lineChart(
  [{ label: `LSTM, H=${model.numHiddens}`, xs: history.map((e) => e.epoch), ys: history.map((e) => e.perplexity) }],
  { title: 'Character-level LSTM on The Time Machine', xLabel: 'epoch', yLabel: 'perplexity' },
));
console.log(`perplexity curve written to ${svgPath}`);
