import { SPLIT_RULE } from '../src/lstm/runner.js';

// The tests' models are tiny: by the split rule (src/lstm/runner.ts, planSplit) every call of
// theirs would run on one part and never reach a worker. So that the thread tests exercise
// the workers, every phase is split in as many parts as threads and the recurrence by batch
// rows. (Both give the same numbers: test/lstm/split.test.ts; the rule itself is tested there.)
SPLIT_RULE.workPerPart = 0;
SPLIT_RULE.force = 'rows';
