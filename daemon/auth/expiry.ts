/**
 * Wakes the daemon when a token of an open session expires, so the session is closed then, as
 * a revoked one is, rather than at the next connection. Timers are capped (setTimeout holds at
 * most ~24.8 days): a capped timer just wakes early and waits again.
 */
import type { Clock, ClockTimer } from '../../core/clock.js';

const MAX_DELAY = 2 ** 31 - 1;

export class ExpiryWatch {
  readonly #clock: Clock;
  readonly #onDue: () => void;
  #due: number[] = [];
  #timer: ClockTimer | undefined;

  constructor(clock: Clock, onDue: () => void) {
    this.#clock = clock;
    this.#onDue = onDue;
  }

  /** Calls onDue once `at` (ms since the epoch) has passed. */
  watch(at: number): void {
    if (this.#due.includes(at)) return;
    this.#due = [...this.#due, at].sort((a, b) => a - b);
    this.#arm();
  }

  stop(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = [];
  }

  #arm(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const next = this.#due[0];
    if (next === undefined) return;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.min(MAX_DELAY, Math.max(0, next - this.#clock.now())));
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    const passed = this.#due.filter((at) => at <= now);
    this.#due = this.#due.filter((at) => at > now);
    if (passed.length) this.#onDue();
    this.#arm();
  }
}
