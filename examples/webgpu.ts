// Training and sampling on a GPU through WebGPU, in Node (Dawn: the `webgpu` package, a dev
// dependency here; `npm i webgpu` in your project). On a machine without a GPU driver it runs
// on SwiftShader, the software Vulkan that Debian's chromium package ships — slowly, but the
// same numbers:
//
//   node --import tsx examples/webgpu.ts [--chars 20000] [--epochs 3] [--hidden 64]
//
// Set VK_ICD_FILENAMES to choose a Vulkan driver (this script picks SwiftShader's when no
// other is set and chromium's copy exists).
import { existsSync, readFileSync } from 'node:fs';
import { create } from 'webgpu';
import {
  Adam, LSTMLanguageModel, SeqDataLoader, fit, generateStream, loadCorpus, requestGpuDevice, splitCorpus,
} from '../src/index.js';
import { dataFile, parseCommandLine, positiveInteger } from './lib/cli.js';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const { values } = parseCommandLine({
  options: {
    chars: { type: 'string', default: '20000' },
    epochs: { type: 'string', default: '3' },
    hidden: { type: 'string', default: '64' },
  },
});
const chars = positiveInteger('chars', values.chars), epochs = positiveInteger('epochs', values.epochs);
const hidden = positiveInteger('hidden', values.hidden);

if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
const gpuDevice = await requestGpuDevice(create([]));
const info = (gpuDevice as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
console.log(`GPU: ${info?.vendor ?? '?'} ${info?.architecture ?? ''} (${info?.description ?? 'no description'})`);

const text = readFileSync(dataFile('timemachine.txt'), 'utf8').slice(0, chars);
const { corpus, vocab } = loadCorpus([text], { token: 'char' });
const { train, validation } = splitCorpus(corpus, { valFraction: 0.1, batchSize: 16, numSteps: 20 });
const model = new LSTMLanguageModel({ vocabSize: vocab.size, numHiddens: hidden, init: 'pytorch', backend: 'webgpu', gpuDevice });
const result = await fit(model, new SeqDataLoader(train, { batchSize: 16, numSteps: 20 }), new Adam(model.parameters(), { lr: 1e-2 }), {
  epochs, clipNorm: 1, validation,
  onEpoch: ({ epoch, loss }) => console.log(`epoch ${epoch}: training loss ${loss.toFixed(3)}`),
});
const last = result.evaluations.at(-1)!;
console.log(`validation ${last.loss.toFixed(3)} nats/char (perplexity ${last.perplexity.toFixed(2)}) after ${result.steps} steps, ` +
  `${(result.elapsedMs / 1000).toFixed(0)} s on ${model.backend}`);
let sample = '';
for await (const piece of generateStream(model, vocab, { prompt: 'the time ', maxTokens: 60, temperature: 0.6, seed: 1 })) sample += piece;
console.log(JSON.stringify(sample));
model.dispose();
process.exit(0); // Dawn keeps Node's event loop alive while its GPU object lives
