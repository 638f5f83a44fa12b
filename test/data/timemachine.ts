// d2l's copy of The Time Machine, committed under data/ (see data/README.md), so the tests
// that use it run on every clone: a missing or altered file fails them, never skips them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const TIME_MACHINE_PATH = fileURLToPath(new URL('../../data/timemachine.txt', import.meta.url));

/** The sha1 that d2l checks its download against (`d2l.DATA_HUB['time_machine']`). */
export const TIME_MACHINE_SHA1 = '090b5e7e70c295757f55df93cb0a180b9691891a';

/** The text of data/timemachine.txt; throws unless it is d2l's file, byte for byte. */
export function readTimeMachine(): string {
  const bytes = readFileSync(TIME_MACHINE_PATH);
  const sha1 = createHash('sha1').update(bytes).digest('hex');
  if (sha1 !== TIME_MACHINE_SHA1) {
    throw new Error(`${TIME_MACHINE_PATH} has sha1 ${sha1}, not d2l's ${TIME_MACHINE_SHA1} (see data/README.md).`);
  }
  return bytes.toString('utf8');
}
