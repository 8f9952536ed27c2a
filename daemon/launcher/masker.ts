/**
 * Scrubs injected values out of a server's stderr before anyone sees it. A value is masked in
 * the forms a server is likely to print it in: raw, JSON-escaped, URL-encoded, base64 and
 * base64url (padded or not). Values under MIN_MASKED characters are not masked — masking `abc`
 * would shred ordinary text — and are reported so the caller can warn by variable name.
 *
 * stdout carries JSON-RPC and is never passed through here.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export const MIN_MASKED = 6;
export const MASK = '****';
const MAX_LINE = 64 * 1024;

export interface InjectedValue {
  readonly variable: string;
  readonly value: string;
}

export class Masker {
  readonly #pattern: RegExp | undefined;
  /** The longest form masked; a partial line keeps this much back in case a value straddles a cut. */
  readonly longest: number;
  /** Variables whose values are too short to mask. */
  readonly unmaskable: string[];

  constructor(values: readonly InjectedValue[]) {
    const forms = new Set<string>();
    const unmaskable = new Set<string>();
    for (const { variable, value } of values) {
      if (value.length < MIN_MASKED) unmaskable.add(variable);
      else for (const form of formsOf(value)) forms.add(form);
    }
    const sorted = [...forms].sort((a, b) => b.length - a.length);
    this.#pattern = sorted.length ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : undefined;
    this.longest = sorted[0]?.length ?? 0;
    this.unmaskable = [...unmaskable];
  }

  mask(text: string): string {
    return this.#pattern ? text.replace(this.#pattern, MASK) : text;
  }
}

function formsOf(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const base64 = bytes.toString('base64');
  const base64url = bytes.toString('base64url');
  // Output is handled line by line, so a multi-line value (a PEM key) is masked line by line too.
  const lines = value.includes('\n') ? value.split(/\r?\n/).filter((line) => line.length >= MIN_MASKED) : [];
  return [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), base64, base64.replace(/=+$/, ''), base64url, ...lines];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Emits each complete line, masked, as soon as it arrives — a server's log must not wait for
 * its exit — and a trailing partial line at the end. A line longer than MAX_LINE is emitted in
 * masked pieces, keeping back enough to catch a value cut in two.
 */
export class MaskingLineStream extends Transform {
  readonly #masker: Masker;
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  constructor(masker: Masker) {
    super({ decodeStrings: false, encoding: 'utf8' });
    this.#masker = masker;
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#pending += typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    const lastNewline = this.#pending.lastIndexOf('\n');
    if (lastNewline !== -1) {
      this.push(this.#masker.mask(this.#pending.slice(0, lastNewline + 1)));
      this.#pending = this.#pending.slice(lastNewline + 1);
    }
    if (this.#pending.length > MAX_LINE) {
      const masked = this.#masker.mask(this.#pending);
      const keep = Math.max(this.#masker.longest - 1, 0);
      this.push(masked.slice(0, masked.length - keep));
      this.#pending = masked.slice(masked.length - keep);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.#pending += this.#decoder.end();
    if (this.#pending) this.push(this.#masker.mask(this.#pending));
    this.#pending = '';
    done();
  }
}
