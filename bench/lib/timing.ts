/**
 * Median seconds per call of `fn`: calls are repeated until one sample lasts ≥ minSeconds,
 * then `runs` samples are taken. A median, because these machines are shared and noisy.
 */
export function time(fn: () => void, runs = 7, minSeconds = 0.05): number {
  fn();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    if ((performance.now() - t0) / 1000 >= minSeconds) break;
    reps *= 2;
  }
  const samples: number[] = [];
  for (let s = 0; s < runs; s++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    samples.push((performance.now() - t0) / 1000 / reps);
  }
  samples.sort((x, y) => x - y);
  return samples[runs >> 1]!;
}

/** The middle value of `xs` (the upper of the two middle ones for an even count); xs is not changed. */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
}
