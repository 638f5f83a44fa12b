// Generation, end to end: a small character model trained briefly on tinyshakespeare, then
// greedy prediction against sampling (temperature, top-k, top-p), stop strings, several
// samples at once, streaming and an interactive session.
//
//   node --import tsx examples/generate.ts [--chars 0 (all)] [--epochs 3] [--hidden 256]
import {
  Adam, Generator, LSTMLanguageModel, SeqDataLoader, generate, generateStream, loadCorpus, predictText, train,
} from '../src/index.js';
import { dataFile, integer, parseCommandLine, positiveInteger, readText } from './lib/cli.js';

const { values: args } = parseCommandLine({
  options: {
    data: { type: 'string', default: dataFile('tinyshakespeare.txt') },
    chars: { type: 'string', default: '0' }, // 0: the whole text
    epochs: { type: 'string', default: '3' },
    hidden: { type: 'string', default: '256' },
  },
});

// The whole text as one line, so that '\n' is a character of the vocabulary.
const text = readText(args.data);
const { corpus, vocab } = loadCorpus([text], { token: 'char', maxTokens: integer('chars', args.chars) });
const loader = new SeqDataLoader(corpus, { batchSize: 32, numSteps: 64 });
const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: positiveInteger('hidden', args.hidden), seed: 1 });
const started = performance.now();
train(model, loader, new Adam(model.parameters(), { lr: 3e-3 }), {
  epochs: positiveInteger('epochs', args.epochs),
  clipNorm: 1,
  onEpoch: ({ epoch, perplexity }) => console.log(`epoch ${epoch}: perplexity ${perplexity.toFixed(2)}`),
});
console.log(`trained on ${corpus.length} characters in ${((performance.now() - started) / 1000).toFixed(0)} s (${model.backend}), V = ${vocab.size}\n`);

const show = (title: string, s: string) => console.log(`--- ${title}\n${s}\n`);
show('predictText (greedy)', predictText(model, vocab, 'ROMEO:', 120, 'char'));
show('generate, temperature 0.8, seed 1',
  'ROMEO:' + generate(model, vocab, { prompt: 'ROMEO:', maxTokens: 120, temperature: 0.8, seed: 1 }));
show('generate, top-k 10, top-p 0.9, stop at a blank line',
  'ROMEO:' + generate(model, vocab, { prompt: 'ROMEO:', maxTokens: 400, temperature: 0.9, topK: 10, topP: 0.9, stop: ['\n\n'], seed: 2 }));
const samples = generate(model, vocab, { prompt: 'JULIET:\n', maxTokens: 60, temperature: 0.8, numSamples: 3, stop: ['\n'], seed: 3 });
show('three samples in one batch, each to the end of its line', samples.map((s) => 'JULIET:\n' + s).join('\n'));

process.stdout.write('--- streaming\nKING HENRY:');
for await (const piece of generateStream(model, vocab, { prompt: 'KING HENRY:', maxTokens: 80, temperature: 0.8, seed: 4 })) {
  process.stdout.write(piece);
}
console.log('\n');

const session = new Generator(model, vocab, { seed: 5 });
session.feed('First Citizen:\n');
let line = '';
while (!line.endsWith('\n') && line.length < 200) line += session.next({ temperature: 0.7 });
const saved = session.state;
const a = Array.from({ length: 40 }, () => session.next({ temperature: 0.7 })).join('');
session.state = saved; // back to the end of the first line; the draws go on
const b = Array.from({ length: 40 }, () => session.next({ temperature: 0.7 })).join('');
show('a session: one line, then two continuations from the saved state', `First Citizen:\n${line}(a) ${a}\n(b) ${b}`);
model.dispose();
