// `lstm-lm info <checkpoint>`: what a checkpoint holds.
import { stat } from 'node:fs/promises';
import { parameterCount, type TrainingState } from '../src/index.js';
import { Flags, count, openCheckpoint, parseCommand, unit } from './common.js';
import type { BestSummary, RunRecord, RunSettings } from './run.js';

export const INFO_HELP = `Usage: lstm-lm info <checkpoint>

Prints what a checkpoint holds: the model's configuration, its parameter count, the
vocabulary, and the training state (for a file written by lstm-lm train: the run's
settings, its step, and its best validation loss).

  -h, --help            this help`;

const show = (token: string): string => JSON.stringify(token);
const epochs = (n: number): string => `${n} epoch${n === 1 ? '' : 's'} complete`;

function describeSettings(s: RunSettings): string {
  return `${s.optimizer} lr ${s.lr}, ${s.schedule} schedule, clip ${s.clip || 'none'}, B ${s.batch} × T ${s.seq}, ` +
    `validation ${s.valFraction}, evaluated every ${s.evalEvery} steps, ${s.threads} thread${s.threads === 1 ? '' : 's'}, seed ${s.seed}`;
}

export async function info(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand('info', args, { options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (v.help === true) {
    console.log(INFO_HELP);
    return 0;
  }
  const f: Flags = new Flags('info');
  if (positionals.length !== 1) f.fail(positionals.length === 0 ? 'missing <checkpoint>' : `expected one <checkpoint>, got ${positionals.join(' ')}`);
  const path = positionals[0]!;
  const { model, vocab, optimizer, schedule, training, libraryVersion } = await openCheckpoint(path, { backend: 'js' });
  const c = model.config;
  const u = unit(vocab.level);
  const { size } = await stat(path);
  const rows: [string, string][] = [];
  rows.push(['file', `${(size / 1e6).toFixed(2)} MB, written by lstm-lm ${libraryVersion}`]);
  rows.push(['model', `LSTM ${c.numLayers}×${c.numHiddens}, dropout ${c.dropout}, ` +
    `${c.embeddingSize === null ? 'one-hot input' : `embedding ${c.embeddingSize}`}, init ${c.init}, seed ${c.seed}, ${c.dtype}`]);
  rows.push(['parameters', count(parameterCount(c))]);
  const top = vocab.idxToToken.slice(1, 11).map(show).join(' ');
  rows.push(['vocabulary', `${count(vocab.size)} ${u}s${vocab.level === undefined ? ' (level not recorded)' : ''}, <unk> included; most frequent: ${top}${vocab.size > 11 ? ' …' : ''}`]);
  if (optimizer !== undefined) rows.push(['optimizer', `${optimizer.name}, ${count(optimizer.stepCount ?? 0)} steps, lr ${optimizer.lr}`]);
  if (schedule !== undefined) rows.push(['schedule', schedule.name]);

  const t = training as (TrainingState & { cli?: RunRecord }) | (BestSummary & { format: string }) | undefined;
  if (t === undefined) {
    rows.push(['training', 'none saved (a model to use, not to resume)']);
  } else if (t.format === 'lstm-lm/cli-model') {
    const b = t as BestSummary;
    rows.push(['training', `the best model of \`lstm-lm train ${b.settings.text.path}\`: step ${count(b.step)}, ` +
      `${epochs(b.epoch)}, ${count(b.tokens)} ${u}s seen`]);
    rows.push(['validation', b.validationLoss === null ? 'not evaluated (the weights when training stopped)'
      : `loss ${b.validationLoss.toFixed(4)} nats/${u}, ${(b.validationLoss / Math.LN2).toFixed(4)} bits/${u}, perplexity ${Math.exp(b.validationLoss).toFixed(3)}`]);
    rows.push(['settings', describeSettings(b.settings)]);
  } else if (t.format === 'lstm-lm/training-state') {
    const s = t as TrainingState & { cli?: RunRecord };
    rows.push(['training', `resumable: step ${count(s.step)}, ${epochs(s.epoch)} + ${count(s.batchInEpoch)} batches, ${count(s.tokens)} ${u}s seen` +
      `${s.pendingEvaluation === null ? '' : `, an evaluation pending`}`]);
    rows.push(['validation', s.best === null ? 'no evaluation yet' : `best loss ${s.best.loss.toFixed(4)} nats/${u} at step ${count(s.best.step)} ` +
      `(${(s.best.loss / Math.LN2).toFixed(4)} bits/${u}); ${s.evaluationsWithoutImprovement} evaluations since`]);
    if (s.cli !== undefined) {
      rows.push(['settings', describeSettings(s.cli.settings)]);
      rows.push(['text', `${s.cli.settings.text.path} (${count(s.cli.settings.text.tokens)} ${u}s, sha256 ${s.cli.settings.text.sha256.slice(0, 16)}…)`]);
      rows.push(['resume', `lstm-lm train ${s.cli.settings.text.path} --resume ${path}`]);
    }
  } else {
    const format = (t as { format?: unknown }).format;
    rows.push(['training', `saved (${typeof format === 'string' ? format : 'a custom object'})`]);
  }
  for (const [key, value] of rows) console.log(`${key.padEnd(11)} ${value}`);
  model.dispose();
  return 0;
}
