import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as data from '../../src/data/index.js';

const SRC = fileURLToPath(new URL('../../src/data/', import.meta.url));

describe('src/data/index.ts', () => {
  it('exports the pipeline, and nothing internal', () => {
    expect(Object.keys(data).sort()).toEqual(
      ['SeqDataLoader', 'Vocab', 'loadCorpus', 'preprocess', 'seqDataIterRandom', 'seqDataIterSequential', 'tokenize'].sort(),
    );
  });

  it('is browser-safe and independent of the model', () => {
    for (const file of readdirSync(SRC).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(SRC + file, 'utf8');
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((match) => match[1]);
      for (const path of imports) {
        // Its own files, the seeded generator and the shared argument checks (which import nothing).
        expect(path, `${file} imports ${path}`).toMatch(/^\.\/[\w-]+\.js$|^\.\.\/tensor\/random\.js$|^\.\.\/checks\.js$/);
      }
      expect(source, file).not.toMatch(/Math\.random|node:/);
    }
  });
});
