/**
 * Who can show the user a sign-in, and showing it: an `mcpd auth login` connection (the user
 * asked: preferred, the newest first), else the sessions' `mcpd run`s in the order they came,
 * each through a notice on its socket. One that can opens the browser; if none can (a host app
 * on the client module, an old `mcpd run`), every one is told in words on stderr. One that
 * attaches while a sign-in waits unseen (or a login, always) is shown it at once.
 */
import type { ClientNotice } from '../../supervisor/instance.js';

/** What a sign-in asks of the process the user sees: `mcpd run` (a session notice) or `mcpd auth login`. */
export type AuthNotice = ClientNotice;

export interface Opener {
  /** `mcpd auth login`: preferred over a session, since the user asked. */
  readonly login: boolean;
  /** Shows the user the URL (opens a browser); false when this one cannot. */
  open(notice: AuthNotice): boolean;
  /** A line for the user's stderr, when nobody could open the URL. */
  say(line: string): void;
}

export class Openers {
  readonly #all = new Set<Opener>();
  /** The sign-in waiting for the user, and whether someone was shown it. */
  #waiting: { notice: AuthNotice; shown: boolean } | undefined;

  /** Registers `opener`; returns the way to take it back. */
  attach(opener: Opener): () => void {
    this.#all.add(opener);
    if (this.#waiting && (!this.#waiting.shown || opener.login)) this.#show();
    return () => this.#all.delete(opener);
  }

  /** A sign-in waits for the user at `notice.url`. */
  show(notice: AuthNotice): void {
    this.#waiting = { notice, shown: false };
    this.#show();
  }

  /** The sign-in is over, however it ended. */
  done(): void {
    this.#waiting = undefined;
  }

  #show(): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    const openers = [...this.#all];
    const ranked = [...openers.filter((o) => o.login).reverse(), ...openers.filter((o) => !o.login)];
    if (ranked.some((opener) => opener.open(waiting.notice))) {
      waiting.shown = true;
      return;
    }
    const { server, url, reason } = waiting.notice;
    const why = reason ? ` (${reason})` : '';
    for (const opener of openers) opener.say(`mcpd: server "${server}" needs you to sign in${why}: open ${url} — or run mcpd auth login ${server}`);
  }
}
