// `lstm-lm eval <checkpoint> <text-file>`: the model's loss on a text.
import { evaluate, tokenize } from '../src/index.js';
import { backendOptions, CliError, Flags, count, openCheckpoint, parseCommand, readText, unit } from './common.js';

export const EVAL_HELP = `Usage: lstm-lm eval <checkpoint> <text-file> [options]

The model's cross-entropy on a text (dropout off): loss in nats per token, perplexity, and
bits per character (or per word for a word-level model). The text is read as B streams,
the state carried along each in chunks of T tokens; tokens the vocabulary lacks count as
<unk>.

  --batch <n>           B, streams read at once (fewer for a short text)  (default 16)
  --seq <n>             T, tokens per forward call                        (default 100)
  --threads <n|auto>    threads to compute with                           (default auto)
  --backend <name>      auto, wasm, js or webgpu (the GPU, through the optional
                        \`webgpu\` package: npm i webgpu)                   (default auto)
  -h, --help            this help

Example
  lstm-lm eval shakespeare.safetensors data/tinyshakespeare.txt`;

const OPTIONS = {
  batch: { type: 'string' },
  seq: { type: 'string' },
  threads: { type: 'string' },
  backend: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function evalCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand('eval', args, { options: OPTIONS, allowPositionals: true });
  if (v.help === true) {
    console.log(EVAL_HELP);
    return 0;
  }
  const f: Flags = new Flags('eval');
  if (positionals.length !== 2) f.fail(`expected <checkpoint> <text-file>, got ${positionals.length === 0 ? 'nothing' : positionals.join(' ')}`);
  let B = f.integer('batch', v.batch ?? '16', 1);
  let T = f.integer('seq', v.seq ?? '100', 1);
  const threads = f.threads(v.threads ?? 'auto');
  const backend = f.backend(v.backend ?? 'auto');
  const [checkpointPath, textPath] = positionals as [string, string];
  const { text } = await readText(textPath);
  const { model, vocab } = await openCheckpoint(checkpointPath, { threads, ...(await backendOptions(backend)) });
  const level = vocab.level ?? 'char';
  const tokens = tokenize([text], level)[0]!;
  const ids = Int32Array.from(vocab.encode(tokens));
  const unknown = tokens.reduce((n, t) => n + (vocab.has(t) ? 0 : 1), 0);
  if (ids.length < 2) throw new CliError(`${textPath} has ${ids.length} ${unit(level)}; at least 2 are needed (one to read, one to predict)`);
  // A short text: fewer streams, then shorter chunks, so that one batch fits (B·T + 1 tokens).
  T = Math.min(T, ids.length - 1);
  B = Math.max(1, Math.min(B, Math.floor((ids.length - 1) / T)));
  const started = performance.now();
  const { loss, perplexity, tokens: predicted } = await evaluate(model, ids, { batchSize: B, numSteps: T });
  const seconds = (performance.now() - started) / 1000;
  const u = unit(level);
  console.log(`${textPath}: ${count(ids.length)} ${u}s` +
    `${unknown === 0 ? '' : `, ${count(unknown)} not in the vocabulary (read as <unk>)`}; ` +
    `${count(predicted)} predicted (B ${B} × T ${T}) in ${seconds.toFixed(1)} s`);
  console.log(`loss        ${loss.toFixed(4)} nats/${u}`);
  console.log(`perplexity  ${perplexity.toFixed(3)}`);
  console.log(`bits/${u}   ${(loss / Math.LN2).toFixed(4)}`);
  model.dispose();
  return 0;
}
