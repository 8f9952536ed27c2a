import type { Clock, ClockTimer } from '../../core/clock.js';

/** A clock that moves only when told to; timers fire in order of their due time. */
export class ManualClock implements Clock {
  #now: number;
  #timers: Array<{ timer: ClockTimer; due: number; callback: () => void }> = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): ClockTimer {
    const timer = { id: Symbol('timer') };
    this.#timers.push({ timer, due: this.#now + Math.max(0, ms), callback });
    return timer;
  }

  clearTimeout(timer: ClockTimer): void {
    this.#timers = this.#timers.filter((t) => t.timer !== timer);
  }

  /** Timers still waiting, for assertions. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const next = this.#timers.filter((t) => t.due <= until).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.due;
      next.callback();
    }
    this.#now = until;
  }
}
