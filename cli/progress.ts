// The training display: on a terminal one line redrawn in place (bar, step/epoch, loss, val
// loss, tokens/s, ETA) with the evaluation and sample lines printed above it; elsewhere
// (a pipe, a log file, CI) plain lines, one every `logEvery` steps.
import type { StepInfo } from '../src/index.js';
import { count, duration } from './common.js';

const REDRAW_MS = 100;

export class Progress {
  #last: StepInfo | null = null;
  #valLoss: number | null = null;
  #drawnAt = -Infinity;
  #shown = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty: boolean,
    private readonly logEvery: number,
    private readonly batchesPerEpoch: number,
  ) {}

  /** After every step. */
  step(s: StepInfo): void {
    this.#last = s;
    if (!this.tty) {
      if (s.step % this.logEvery === 0) this.out.write(`${this.#plain(s)}\n`);
      return;
    }
    const now = performance.now();
    if (now - this.#drawnAt >= REDRAW_MS) this.#draw(now);
  }

  /** The latest validation loss, shown from now on. */
  validation(loss: number): void {
    this.#valLoss = loss;
  }

  /** A line printed above the progress line (which is redrawn under it). */
  line(text: string): void {
    if (this.tty && this.#shown) this.out.write('\r\x1b[2K');
    this.out.write(`${text}\n`);
    this.#shown = false;
    if (this.tty && this.#last !== null) this.#draw(performance.now());
  }

  /** Leaves the progress line where it is (a final newline on a terminal). */
  end(): void {
    if (this.tty && this.#shown) this.out.write('\n');
    this.#shown = false;
  }

  #fields(s: StepInfo): string {
    const val = this.#valLoss === null ? '' : `  val ${this.#valLoss.toFixed(3)}`;
    const eta = s.etaMs === null ? '' : `  ${duration(s.etaMs)} left`;
    return `step ${count(s.step)}  epoch ${s.epoch} (${s.batch}/${this.batchesPerEpoch})  loss ${s.loss.toFixed(3)}${val}` +
      `  ${count(s.tokensPerSecond)} tok/s${eta}`;
  }

  #plain(s: StepInfo): string {
    return `${this.#fields(s)}  lr ${s.lr.toExponential(2)}  |g| ${s.gradNorm.toFixed(2)}  ${duration(s.elapsedMs)} elapsed`;
  }

  #draw(now: number): void {
    const s = this.#last!;
    this.#drawnAt = now;
    const fraction = s.etaMs === null ? null : s.elapsedMs / Math.max(1, s.elapsedMs + s.etaMs);
    const width = 20;
    const filled = fraction === null ? 0 : Math.round(fraction * width);
    const bar = fraction === null ? '' : `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${String(Math.floor(fraction * 100)).padStart(3)}%  `;
    let text = `${bar}${this.#fields(s)}`;
    const columns = this.out.columns || 100; // 0 where the terminal does not say
    if (text.length > columns - 1) text = text.slice(0, Math.max(0, columns - 2)) + '…';
    this.out.write(`\r\x1b[2K${text}`);
    this.#shown = true;
  }
}
