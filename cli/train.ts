// `lstm-lm train <text-file> -o <checkpoint>`: trains a model on a text file with fit(),
// keeping the best weights by validation loss in <checkpoint> and a resumable checkpoint
// beside it (lastPath), which Ctrl-C also writes before exiting.
import { createHash } from 'node:crypto';
import {
  Adam, AdamW, LSTMLanguageModel, RMSprop, SGD, SeqDataLoader, constantLr, cosineWithWarmup,
  fit, generateStream, loadCorpus, parameterCount, reduceOnPlateau, resolveThreads, splitCorpus, type FitResult, type Schedule,
  type TrainingState, type Vocab,
} from '../src/index.js';
import { nodeWorkerFactory, writeCheckpoint } from '../node/index.js';
import { backendOptions, CliError, Flags, count, duration, openCheckpoint, parseCommand, readText, unit, usageError } from './common.js';
import { Progress } from './progress.js';
import { defaultPrompt, lastPath, type BestSummary, type RunRecord, type RunSettings } from './run.js';

export const TRAIN_HELP = `Usage: lstm-lm train <text-file> -o <checkpoint> [options]

Trains an LSTM language model on a text file. The last --val-fraction of the text is held
out; every --eval-every steps (and at each epoch's end) the model is evaluated on it, a
sample is printed, and the weights with the best validation loss so far are written to
<checkpoint>. A resumable checkpoint (weights, optimiser, schedule, loop position) is written
beside it at each evaluation, at the end and on Ctrl-C: <checkpoint> with .safetensors
replaced by .last.safetensors (else ".last" appended). Ctrl-C stops after the current
minibatch, writes it and exits with status 130; --resume continues exactly where it stopped.

Model
  --level char|word     tokens: characters (case, punctuation, line breaks kept) or
                        whitespace-separated words                       (default char)
  --layers <n>          stacked LSTM layers                               (default 2)
  --hidden <n>          hidden units per layer                            (default 384)
  --dropout <p>         dropout on every layer's output, in [0, 1)        (default 0.3)
  --embedding <n>       learned embedding size; 0 for one-hot input
                                                    (default 0 for char, 256 for word)
Optimisation
  --optimizer <name>    sgd, adam, adamw or rmsprop                       (default adam)
  --lr <rate>           learning rate               (default 2e-3; 1 with sgd, as d2l)
  --schedule <name>     plateau (halve the rate after 2 evaluations without
                        improvement), constant, or cosine (to the end of --epochs or
                        --max-steps, with 100 warm-up steps)           (default plateau)
  --clip <norm>         clip the gradient's global norm; 0 for none      (default 5)
  --batch <n>           B, sequences per minibatch                        (default 64)
  --seq <n>             T, time steps per sequence (truncated BPTT)      (default 100)
How long
  --epochs <n>          epochs in all               (default 10, or none with --time-limit)
  --max-steps <n>       optimiser steps in all                            (default none)
  --time-limit <s>      seconds for this call                             (default none)
                        training stops at whichever limit comes first
Evaluation and output
  -o, --output <file>   the best model (by validation loss)              (required)
  --val-fraction <f>    the last part of the text held out, in (0, 1)    (default 0.1)
  --eval-every <n>      evaluate every n steps                            (default 200)
  --log-every <n>       without a terminal: a progress line every n steps (default 50)
Machine
  --threads <n|auto>    threads to compute with; auto: the cores, up to 8 (default auto)
  --backend <name>      auto, wasm, js or webgpu (the GPU, through the optional
                        \`webgpu\` package: npm i webgpu)                   (default auto)
  --seed <n>            seed of the weights, dropout and the loader       (default 0)
  --resume <file>       continue a run from its .last checkpoint; the run's settings come
                        from it (the text must be the same), limits may be given anew
  -h, --help            this help

The defaults are a good character model for a text of a few MB (char-rnn's setting, measured
on tinyshakespeare, 1.1 MB): 2×384 with dropout 0.3 learns more per hour than 2×256 or 2×512
on two cores; Adam at 2e-3 halved on plateaus and clipping at 5 train it without tuning;
B 64 × T 100 keeps the cores busy and lets the state carry over 100 characters.

Example
  lstm-lm train data/tinyshakespeare.txt -o shakespeare.safetensors --time-limit 600`;

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  level: { type: 'string' },
  layers: { type: 'string' },
  hidden: { type: 'string' },
  dropout: { type: 'string' },
  embedding: { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  schedule: { type: 'string' },
  clip: { type: 'string' },
  batch: { type: 'string' },
  seq: { type: 'string' },
  epochs: { type: 'string' },
  'max-steps': { type: 'string' },
  'time-limit': { type: 'string' },
  'val-fraction': { type: 'string' },
  'eval-every': { type: 'string' },
  'log-every': { type: 'string' },
  threads: { type: 'string' },
  backend: { type: 'string' },
  seed: { type: 'string' },
  resume: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** Flags that shape the model, the data or the optimiser: a resumed run keeps the checkpoint's. */
const FIXED_ON_RESUME = [
  'level', 'layers', 'hidden', 'dropout', 'embedding', 'optimizer', 'lr', 'schedule', 'clip', 'batch', 'seq',
  'val-fraction', 'eval-every', 'seed',
] as const;

/** The settings from the flags, defaults applied (a fresh run). */
function settingsFromFlags(v: Values, f: Flags, output: string): Omit<RunSettings, 'text' | 'threads'> {
  const level = f.choice('level', v.level ?? 'char', ['char', 'word'] as const);
  const optimizer = f.choice('optimizer', v.optimizer ?? 'adam', ['sgd', 'adam', 'adamw', 'rmsprop'] as const);
  const embedding = f.integer('embedding', v.embedding ?? (level === 'word' ? '256' : '0'), 0);
  const timeLimit = v['time-limit'] === undefined ? null : f.number('time-limit', v['time-limit'], (n) => n > 0, 'a positive number of seconds');
  return {
    level,
    layers: f.integer('layers', v.layers ?? '2', 1),
    hidden: f.integer('hidden', v.hidden ?? '384', 1),
    dropout: f.number('dropout', v.dropout ?? '0.3', (n) => n >= 0 && n < 1, 'a number in [0, 1)'),
    embedding: embedding === 0 ? null : embedding,
    optimizer,
    lr: f.number('lr', v.lr ?? (optimizer === 'sgd' ? '1' : '2e-3'), (n) => n > 0, 'a positive number'),
    schedule: f.choice('schedule', v.schedule ?? 'plateau', ['plateau', 'constant', 'cosine'] as const),
    clip: f.number('clip', v.clip ?? '5', (n) => n >= 0, 'a number ≥ 0'),
    batch: f.integer('batch', v.batch ?? '64', 1),
    seq: f.integer('seq', v.seq ?? '100', 1),
    valFraction: f.number('val-fraction', v['val-fraction'] ?? '0.1', (n) => n > 0 && n < 1, 'a number in (0, 1)'),
    evalEvery: f.integer('eval-every', v['eval-every'] ?? '200', 1),
    seed: f.integer('seed', v.seed ?? '0', 0, 2 ** 32 - 1),
    epochs: v.epochs !== undefined ? f.integer('epochs', v.epochs, 1) : timeLimit === null ? 10 : null,
    maxSteps: v['max-steps'] === undefined ? null : f.integer('max-steps', v['max-steps'], 1),
    timeLimit,
    output,
  };
}

function makeOptimizer(s: RunSettings, model: LSTMLanguageModel): SGD | Adam | AdamW | RMSprop {
  const params = model.parameters();
  switch (s.optimizer) {
    case 'sgd': return new SGD(params, { lr: s.lr });
    case 'adam': return new Adam(params, { lr: s.lr });
    case 'adamw': return new AdamW(params, { lr: s.lr });
    case 'rmsprop': return new RMSprop(params, { lr: s.lr, alpha: 0.95 }); // char-rnn's decay rate
  }
}

function makeSchedule(s: RunSettings, batchesPerEpoch: number, f: Flags): Schedule {
  if (s.schedule === 'plateau') return reduceOnPlateau({ lr: s.lr, factor: 0.5, patience: 2 });
  if (s.schedule === 'constant') return constantLr({ lr: s.lr });
  const totalSteps = s.maxSteps ?? (s.epochs === null ? null : s.epochs * batchesPerEpoch);
  if (totalSteps === null || totalSteps < 2) f.fail('--schedule cosine needs --epochs or --max-steps (it decays to their end)');
  return cosineWithWarmup({ lr: s.lr, warmupSteps: Math.min(100, totalSteps - 1), totalSteps, minLr: s.lr / 10 });
}

/** A sample as one line: line breaks shown as ⏎, cut to `max` characters. */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/\r?\n/g, '⏎').replace(/\t/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export async function train(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand('train', args, { options: OPTIONS, allowPositionals: true });
  if (v.help === true) {
    console.log(TRAIN_HELP);
    return 0;
  }
  const f: Flags = new Flags('train');
  if (positionals.length !== 1) f.fail(positionals.length === 0 ? 'missing <text-file>' : `expected one <text-file>, got ${positionals.length}: ${positionals.join(' ')}`);
  const textPath = positionals[0]!;
  const logEvery = f.integer('log-every', v['log-every'] ?? '50', 1);
  const requestedThreads = v.threads === undefined ? undefined : f.threads(v.threads);
  const backend = f.backend(v.backend ?? 'auto');

  // The run's settings: from the flags, or from the checkpoint being resumed.
  let settings: RunSettings;
  let resumed: Awaited<ReturnType<typeof openCheckpoint>> | undefined;
  let resumeFrom: TrainingState | undefined;
  const { text, bytes } = await readText(textPath);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (v.resume !== undefined) {
    const probe = await openCheckpoint(v.resume, { backend: 'js' });
    const record = (probe.training as { cli?: RunRecord } | undefined)?.cli;
    probe.model.dispose();
    if (probe.training?.format !== 'lstm-lm/training-state' || record?.format !== 'lstm-lm/cli-run') {
      throw new CliError(`cannot resume from ${v.resume}: it holds no training run of lstm-lm train` +
        ((probe.training as { format?: string } | undefined)?.format === 'lstm-lm/cli-model' ? ` (it is a best-model file: resume from ${lastPath(v.resume)})` : ''));
    }
    const stored = record.settings;
    const flagged = settingsFromFlags(v, f, stored.output);
    const keyOf = (flag: string): keyof RunSettings => flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) as keyof RunSettings;
    for (const flag of FIXED_ON_RESUME) {
      if (v[flag] !== undefined && flagged[keyOf(flag) as keyof typeof flagged] !== stored[keyOf(flag)]) {
        throw usageError('train', `--${flag} ${v[flag]} differs from the resumed run's ${JSON.stringify(stored[keyOf(flag)])}; a resumed run keeps its settings`);
      }
    }
    if (stored.text.sha256 !== sha256) {
      throw new CliError(`cannot resume: ${textPath} is not the text the run trained on (${stored.text.path}, sha256 ${stored.text.sha256.slice(0, 12)}…)`);
    }
    settings = {
      ...stored,
      text: { ...stored.text, path: textPath },
      output: v.output ?? stored.output,
      threads: stored.threads, // replaced by what the model gets below
      epochs: v.epochs !== undefined || v['time-limit'] !== undefined ? flagged.epochs : stored.epochs,
      maxSteps: v['max-steps'] !== undefined ? flagged.maxSteps : stored.maxSteps,
      timeLimit: v['time-limit'] !== undefined ? flagged.timeLimit : stored.timeLimit,
    };
    resumed = await openCheckpoint(v.resume, {
      threads: requestedThreads ?? stored.threads, createWorker: nodeWorkerFactory, ...(await backendOptions(backend)),
    });
    settings.threads = resumed.model.threads;
    const { cli: _, ...state } = resumed.training as TrainingState & { cli?: RunRecord };
    resumeFrom = state;
  } else {
    if (v.output === undefined) f.fail('missing -o <checkpoint> (where the best model is written)');
    settings = { ...settingsFromFlags(v, f, v.output), text: { path: textPath, sha256, tokens: 0 }, threads: 0 };
  }
  const output = settings.output;
  const last = lastPath(output);

  // The data: the whole text as one line (line breaks are characters like any other).
  const { corpus, vocab: textVocab } = loadCorpus([text], { token: settings.level });
  settings.text.tokens = corpus.length;
  const vocab: Vocab = resumed?.vocab ?? textVocab;
  const B = settings.batch, T = settings.seq;
  let split;
  try {
    split = splitCorpus(corpus, { valFraction: settings.valFraction, batchSize: B, numSteps: T });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new CliError(`${textPath} is too short for --batch ${B} × --seq ${T} with --val-fraction ${settings.valFraction} ` +
      `(${count(corpus.length)} ${unit(settings.level)}s): ${error.message.replace(/^Expected `valFraction` to /, 'each part must ')}`);
  }
  const { train: trainIds, validation } = split;
  const loader = new SeqDataLoader(trainIds, { batchSize: B, numSteps: T, seed: settings.seed });

  const model = resumed?.model ?? new LSTMLanguageModel({
    vocabSize: vocab.size, numHiddens: settings.hidden, numLayers: settings.layers, dropout: settings.dropout,
    embeddingSize: settings.embedding, init: 'pytorch', seed: settings.seed, threads: requestedThreads ?? resolveThreads('auto'),
    createWorker: nodeWorkerFactory, ...(await backendOptions(backend)),
  });
  settings.threads = model.threads;
  const optimizer = resumed?.optimizer ?? makeOptimizer(settings, model);
  const schedule = resumed?.schedule ?? makeSchedule(settings, loader.numBatches, f);

  const out = process.stdout;
  const u = unit(settings.level);
  const limits = [
    settings.epochs === null ? null : `${settings.epochs} epochs`,
    settings.maxSteps === null ? null : `${count(settings.maxSteps)} steps`,
    settings.timeLimit === null ? null : duration(settings.timeLimit * 1000),
  ].filter((x) => x !== null).join(' or ');
  console.log(`${textPath}: ${count(corpus.length)} ${u}s, vocabulary of ${vocab.size}; ` +
    `train ${count(trainIds.length)}, validation ${count(validation.length)} (last ${settings.valFraction * 100}%)`);
  console.log(`model ${settings.layers}×${settings.hidden}${settings.embedding === null ? '' : `, embedding ${settings.embedding}`}, ` +
    `dropout ${settings.dropout}, ${count(parameterCount(model.config))} parameters, ${model.backend} × ${model.threads} thread${model.threads === 1 ? '' : 's'}; ` +
    `${settings.optimizer} lr ${settings.lr}, ${settings.schedule} schedule, clip ${settings.clip || 'none'}, B ${B} × T ${T}`);
  console.log(`${resumeFrom === undefined ? 'training' : `resuming at step ${count(resumeFrom.step)} (epoch ${resumeFrom.epoch + 1})`} ` +
    `until ${limits}, ${count(loader.numBatches)} steps an epoch; evaluating every ${settings.evalEvery} steps; ` +
    `best model → ${output}, resumable → ${last}`);

  const progress = new Progress(out, out.isTTY === true, logEvery, loader.numBatches);
  const record: RunRecord = { format: 'lstm-lm/cli-run', version: 1, settings };
  // A checkpoint reads the model's host copy: a webgpu model's is brought from the GPU first
  // (sync() does nothing on the other backends).
  const saveLast = async (state: TrainingState): Promise<void> => {
    await model.sync();
    await writeCheckpoint(last, model, { vocab, optimizer, schedule, training: { ...state, cli: record } });
  };
  const saveBest = async (summary: Omit<BestSummary, 'format' | 'version' | 'settings'>): Promise<void> => {
    await model.sync();
    await writeCheckpoint(output, model, { vocab, training: { format: 'lstm-lm/cli-model', version: 1, settings, ...summary } });
  };

  // Ctrl-C: stop after this minibatch, then save (below). A second one exits at once.
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) {
      progress.line('interrupted again: exiting without saving');
      process.exit(130);
    }
    progress.line('interrupted: stopping after this minibatch to write a resumable checkpoint (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);

  let result: FitResult;
  let lastTokens = resumeFrom?.tokens ?? 0, lastEvalStep = -1;
  try {
    result = await fit(model, loader, optimizer, {
      ...(settings.epochs === null ? {} : { epochs: settings.epochs }),
      ...(settings.maxSteps === null ? {} : { maxSteps: settings.maxSteps }),
      ...(settings.timeLimit === null ? {} : { timeLimit: settings.timeLimit }),
      signal: controller.signal,
      ...(settings.clip > 0 ? { clipNorm: settings.clip } : {}),
      schedule,
      validation,
      evalEvery: settings.evalEvery,
      keepBest: false, // the best weights go to their own file as they come
      checkpointEvery: settings.evalEvery,
      onCheckpoint: saveLast,
      ...(resumeFrom === undefined ? {} : { resumeFrom }),
      onStep: (s) => {
        lastTokens = s.tokens;
        progress.step(s);
      },
      onEval: async (e) => {
        // fit evaluates twice when an evalEvery step ends an epoch: the same weights, shown once.
        if (e.step === lastEvalStep) return;
        lastEvalStep = e.step;
        progress.validation(e.loss);
        const bits = e.loss / Math.LN2;
        progress.line(`step ${count(e.step)}: validation loss ${e.loss.toFixed(4)} (perplexity ${e.perplexity.toFixed(2)}, ` +
          `${bits.toFixed(3)} bits/${u})${e.improved ? `, best so far → ${output}` : `, best ${e.bestLoss.toFixed(4)}`}; lr ${e.lr.toExponential(2)}`);
        let sample = '';
        const pieces = generateStream(model, vocab, { prompt: defaultPrompt(vocab), maxTokens: u === 'char' ? 160 : 40, temperature: 0.8, seed: e.step });
        for await (const piece of pieces) sample += piece;
        progress.line(`  sample: ${oneLine(sample, out.isTTY === true ? Math.max(20, (out.columns || 100) - 12) : 240)}`);
        if (e.improved) await saveBest({ step: e.step, epoch: e.epoch, tokens: lastTokens, validationLoss: e.loss });
      },
    });
  } catch (error) {
    progress.end();
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
  progress.end();

  await saveLast(result.state);
  const interrupted = result.stopReason === 'aborted';
  if (result.best === null) {
    // No evaluation yet (stopped early): the weights as they are, so that there is a model to sample.
    await saveBest({ step: result.steps, epoch: result.epochs, tokens: result.tokens, validationLoss: null });
  }
  const why = { epochs: 'all epochs done', maxSteps: 'step limit reached', timeLimit: 'time limit reached', aborted: 'interrupted', earlyStopping: 'no more improvement' }[result.stopReason];
  console.log(`stopped (${why}) at step ${count(result.steps)} (${result.epochs} epoch${result.epochs === 1 ? '' : 's'} complete), ` +
    `${count(result.tokens)} ${u}s, after ${duration(result.elapsedMs)}; ` +
    `best validation loss ${result.best === null ? '— (no evaluation yet)' : `${result.best.loss.toFixed(4)} at step ${count(result.best.step)}`}`);
  console.log(`best model: ${output}${result.best === null ? ' (the last weights)' : ''}`);
  console.log(`resumable:  ${last}  (lstm-lm train ${textPath} --resume ${last})`);
  model.dispose();
  return interrupted ? 130 : 0;
}
