#!/usr/bin/env node
// lstm-lm: train, sample, evaluate and inspect LSTM language models from the command line.
//
// The CLI imports the library through ../src/index.js and ../node/index.js, like the tests;
// the build (tsup.config.ts) turns those imports into `lstm-lm` and `lstm-lm/node`, so the
// installed bin runs the package's own dist/ rather than a second copy of the library.
import { VERSION } from '../src/index.js';
import { CliError } from './common.js';
import { EVAL_HELP, evalCommand } from './eval.js';
import { INFO_HELP, info } from './info.js';
import { SAMPLE_HELP, sample } from './sample.js';
import { TRAIN_HELP, train } from './train.js';

const HELP = `Usage: lstm-lm <command> [arguments] [options]

Character- and word-level LSTM language models.

Commands
  train <text-file> -o <checkpoint>   train a model (Ctrl-C saves a resumable checkpoint)
  sample <checkpoint>                 generate text, streamed to stdout
  eval <checkpoint> <text-file>       loss, perplexity and bits per token on a text
  info <checkpoint>                   configuration, size, vocabulary and training state

  lstm-lm <command> --help            the options of a command
  lstm-lm --version                   the version

Example
  lstm-lm train data/tinyshakespeare.txt -o shakespeare.safetensors --time-limit 600
  lstm-lm sample shakespeare.safetensors --prompt "ROMEO:" --length 300`;

const COMMANDS: Record<string, { run: (args: string[]) => Promise<number>; help: string }> = {
  train: { run: train, help: TRAIN_HELP },
  sample: { run: sample, help: SAMPLE_HELP },
  eval: { run: evalCommand, help: EVAL_HELP },
  info: { run: info, help: INFO_HELP },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? args[0] : undefined;
    console.log(topic !== undefined && COMMANDS[topic] !== undefined ? COMMANDS[topic].help : HELP);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(VERSION);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    throw new CliError(`unknown command ${JSON.stringify(name)}; expected train, sample, eval or info (see \`lstm-lm --help\`)`, 2);
  }
  return command.run(args);
}

// A closed pipe (`lstm-lm sample … | head`) ends the program quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // Every failure is one line: the user's mistakes (CliError) as they are; the library's
  // argument errors (TypeError/RangeError naming the value) and anything else with its name.
  // LSTM_LM_DEBUG=1 prints the stack as well.
  const e = error as Error;
  const line = error instanceof CliError ? e.message : `${e.name === 'Error' ? 'error' : e.name}: ${e.message}`;
  process.stderr.write(`lstm-lm: ${line.split('\n')[0]}\n`);
  if (process.env.LSTM_LM_DEBUG) process.stderr.write(`${e.stack}\n`);
  process.exitCode = error instanceof CliError ? error.code : 1;
}
