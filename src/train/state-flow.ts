// The one place that decides which recurrent state a minibatch starts from (training and
// evaluation both use it): zeros, or the final state of the batch before.
import type { LSTMLanguageModel } from '../lstm/model.js';
import type { LSTMState } from '../lstm/inputs.js';
import { show } from '../checks.js';

/**
 * How the recurrent state flows between minibatches (d2l's `train_epoch_ch8`):
 * - `'carry'`: zero at the start of the epoch, then the final state of each batch starts the
 *   next (detached: not differentiated through). Right for sequential batches, whose row b
 *   continues row b of the previous batch.
 * - `'reset'`: zero for every batch. Right for random batches.
 * - `'auto'` (default): `'reset'` if the loader says `random: true`, else `'carry'`.
 */
export type StatePolicy = 'auto' | 'carry' | 'reset';

/** Resolves a policy against a loader: `true` when the state is carried. */
export function carriesState(policy: unknown, loader: { readonly random?: boolean }): boolean {
  if (policy !== 'auto' && policy !== 'carry' && policy !== 'reset') {
    throw new RangeError(`Expected \`statePolicy\` to be 'auto', 'carry' or 'reset', got ${show(policy)}.`);
  }
  return policy === 'carry' || (policy === 'auto' && loader.random !== true);
}

/**
 * The state of a stream of batches: `next(B)` gives the state the next batch starts from —
 * the one the previous batch left when carrying and nothing reset it since, else zeros. One
 * pair of L·B·H arrays is reused (made again only when B changes).
 */
export class StateFlow {
  readonly #model: LSTMLanguageModel;
  readonly #carry: boolean;
  #state: LSTMState | undefined;
  #live = false; // the arrays hold a state to carry on from

  constructor(model: LSTMLanguageModel, carry: boolean) {
    this.#model = model;
    this.#carry = carry;
  }

  /** The state for the next batch of B rows; the batch updates it in place. */
  next(B: number): LSTMState {
    const n = this.#model.numLayers * B * this.#model.numHiddens;
    if (this.#state === undefined || this.#state.h.length !== n) {
      this.#state = this.#model.initState(B);
    } else if (!this.#live) {
      this.#state.h.fill(0);
      this.#state.c.fill(0);
    }
    this.#live = this.#carry;
    return this.#state;
  }

  /** The next batch starts from zeros (a new epoch or stream). */
  reset(): void {
    this.#live = false;
  }

  /** A copy of the state the next batch would carry on from, or null when it starts from zeros. */
  carried(): LSTMState | null {
    if (!this.#live || this.#state === undefined) return null;
    return { h: this.#state.h.slice(), c: this.#state.c.slice() };
  }

  /** Makes the next batch carry on from `state` (copied in), or start from zeros when null. */
  restore(state: LSTMState | null): void {
    if (state === null) {
      this.#live = false;
      return;
    }
    const B = state.h.length / (this.#model.numLayers * this.#model.numHiddens);
    this.#state = this.#model.initState(B);
    this.#state.h.set(state.h);
    this.#state.c.set(state.c);
    this.#live = true;
  }
}
