// Locates d2l's Time Machine text, shared outside the repository (never copied into it).
// Tests that need it skip loudly when it is absent.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const TIME_MACHINE_PATH = fileURLToPath(
  new URL('../../../shared/data/timemachine.txt', import.meta.url),
);
export const hasTimeMachine = existsSync(TIME_MACHINE_PATH);

if (!hasTimeMachine) {
  console.warn(
    `SKIPPING the Time Machine tests: ${TIME_MACHINE_PATH} is missing ` +
      '(d2l\'s timemachine.txt is expected at ../shared/data/ relative to the repository root).',
  );
}

export function readTimeMachine(): string {
  return readFileSync(TIME_MACHINE_PATH, 'utf8');
}
