// `lstm-lm sample <checkpoint>`: streams generated text to stdout as it is drawn.
import { generateStream } from '../src/index.js';
import { backendOptions, Flags, openCheckpoint, parseCommand } from './common.js';
import { defaultPrompt } from './run.js';

export const SAMPLE_HELP = `Usage: lstm-lm sample <checkpoint> [options]

Generates text from a model, streaming it to stdout as it is drawn. The prompt is printed
first, then its continuation.

  --prompt <text>       the text to continue (default: a line break, or the most frequent
                        word of a word-level model)
  --length <n>          tokens to generate (characters or words)          (default 500)
  --temperature <t>     below 1 safer, above 1 wilder; 0 always takes the most likely
                        token                                              (default 0.8)
  --top-k <k>           draw only from the k most likely tokens; 0 for all (default 0)
  --top-p <p>           draw only from the smallest set holding p of the probability,
                        in (0, 1]                                          (default 1)
  --seed <n>            seed of the draws: the same seed, the same text    (default 0)
  --stop <text>         stop when the text ends with this (not printed); repeatable
  --backend <name>      auto, wasm, js or webgpu (the GPU, through the optional
                        \`webgpu\` package: npm i webgpu)                   (default auto)
  --threads <n|auto>    threads to compute with (a model below H ≈ 500 runs on one);
                        the same text whatever the count                  (default auto)
  -h, --help            this help

Example
  lstm-lm sample shakespeare.safetensors --prompt "ROMEO:" --length 300 --temperature 0.7`;

const OPTIONS = {
  prompt: { type: 'string' },
  length: { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
  backend: { type: 'string' },
  threads: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function sample(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand('sample', args, { options: OPTIONS, allowPositionals: true });
  if (v.help === true) {
    console.log(SAMPLE_HELP);
    return 0;
  }
  const f: Flags = new Flags('sample');
  if (positionals.length !== 1) f.fail(positionals.length === 0 ? 'missing <checkpoint>' : `expected one <checkpoint>, got ${positionals.join(' ')}`);
  const maxTokens = f.integer('length', v.length ?? '500', 0);
  const temperature = f.number('temperature', v.temperature ?? '0.8', (n) => n >= 0, 'a number ≥ 0');
  const topK = f.integer('top-k', v['top-k'] ?? '0', 0);
  const topP = f.number('top-p', v['top-p'] ?? '1', (n) => n > 0 && n <= 1, 'a number in (0, 1]');
  const seed = f.integer('seed', v.seed ?? '0', 0, Number.MAX_SAFE_INTEGER);
  const stop = v.stop ?? [];
  if (stop.some((s) => s === '')) f.fail('--stop must not be empty');
  if (v.prompt === '') f.fail('--prompt must not be empty');
  const backend = f.backend(v.backend ?? 'auto');
  const threads = f.threads(v.threads ?? 'auto');

  const { model, vocab } = await openCheckpoint(positionals[0]!, { threads, ...(await backendOptions(backend)) });
  const prompt = v.prompt ?? defaultPrompt(vocab);
  const out = process.stdout;
  if (v.prompt !== undefined || prompt !== '\n') out.write(prompt);
  let last = prompt;
  for await (const piece of generateStream(model, vocab, { prompt, maxTokens, temperature, topK, topP, seed, stop })) {
    if (!out.write(piece)) await new Promise((resolve) => out.once('drain', resolve));
    last = piece;
  }
  if (!last.endsWith('\n')) out.write('\n');
  model.dispose();
  return 0;
}
