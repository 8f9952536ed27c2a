/**
 * Scrubs injected values out of a server's stderr before anyone sees it (our stderr, the
 * per-server log). A value is masked in every form a server is likely to print it in
 * (encodings.ts: raw, JSON-escaped the ways JavaScript, Python and Go write it, URL-encoded,
 * hex, base64). Each occurrence becomes `****`: fixed, so the mask does
 * not tell the value's length, and plain ASCII, so it survives any log viewer.
 *
 * Values under MIN_MASKED_LENGTH characters are not masked — masking `dev` or `1234` would
 * shred ordinary text and reveal the value by where the holes are — and are reported by
 * variable name so the caller can warn.
 *
 * stdout carries JSON-RPC and never passes through here: rewriting it would corrupt messages.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { encodedForms } from './encodings.js';

export const MIN_MASKED_LENGTH = 6;
export const MASK = '****';
/** A line is never held back longer than this many characters waiting for its newline. */
export const MAX_LINE_LENGTH = 64 * 1024;

export interface InjectedValue {
  readonly variable: string;
  readonly value: string;
}

type Span = [start: number, end: number];

/** Every form of `value` the masker looks for; none for a value too short to mask. */
export function maskedForms(value: string): string[] {
  return value.length < MIN_MASKED_LENGTH ? [] : encodedForms(value, MIN_MASKED_LENGTH);
}

/** The warning for a value too short to mask: it names the variable, never the value. */
export function unmaskableWarning(variable: string): string {
  return `the value of ${variable} is under ${MIN_MASKED_LENGTH} characters and cannot be masked in logs`;
}

/** Masks a fixed set of injected values in text. */
export class Masker {
  /** Longest first, as README "Running servers" says; overlapping matches are merged anyway, so no tail of a value survives. */
  readonly #forms: readonly string[];
  /** Length of the longest form: how much a cut line must keep back to catch a value split by the cut. */
  readonly longest: number;
  /** Variables with a value under MIN_MASKED_LENGTH characters, which is left unmasked. */
  readonly unmaskable: readonly string[];

  constructor(values: readonly InjectedValue[]) {
    const forms = new Set<string>();
    const unmaskable = new Set<string>();
    for (const { variable, value } of values) {
      if (value.length === 0) continue;
      if (value.length < MIN_MASKED_LENGTH) unmaskable.add(variable);
      else for (const form of maskedForms(value)) forms.add(form);
    }
    this.#forms = [...forms].sort((a, b) => b.length - a.length);
    this.longest = this.#forms[0]?.length ?? 0;
    this.unmaskable = [...unmaskable].sort();
  }

  /** `text` with every occurrence of every form replaced by MASK. */
  mask(text: string): string {
    return replaceSpans(text, this.#spans(text));
  }

  /**
   * Masks `text` up to `cut` for sending on now and returns the rest untouched. A match that
   * straddles `cut` moves the cut to its start, so it is masked whole with what follows.
   */
  maskPrefix(text: string, cut: number): { masked: string; rest: string } {
    const spans = this.#spans(text);
    const straddling = spans.find(([start, end]) => start < cut && end > cut);
    // A match from the very start cannot move the cut back without stalling: it goes out whole.
    if (straddling) cut = straddling[0] > 0 ? straddling[0] : straddling[1];
    return { masked: replaceSpans(text.slice(0, cut), spans.filter(([, end]) => end <= cut)), rest: text.slice(cut) };
  }

  /** Where the forms occur, overlaps merged, in order. */
  #spans(text: string): Span[] {
    const spans: Span[] = [];
    for (const form of this.#forms) {
      for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) spans.push([at, at + form.length]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    const merged: Span[] = [];
    for (const span of spans) {
      const last = merged[merged.length - 1];
      if (last && span[0] < last[1]) last[1] = Math.max(last[1], span[1]);
      else merged.push([span[0], span[1]]);
    }
    return merged;
  }
}

function replaceSpans(text: string, spans: readonly Span[]): string {
  if (spans.length === 0) return text;
  let out = '';
  let from = 0;
  for (const [start, end] of spans) {
    out += text.slice(from, start) + MASK;
    from = end;
  }
  return out + text.slice(from);
}

export interface MaskingLineStreamOptions {
  /** Characters a line may reach before a masked piece of it is sent on; default MAX_LINE_LENGTH. */
  readonly maxLineLength?: number;
}

/**
 * Bytes of a server's stderr in, masked text out, each line as soon as its newline arrives —
 * a log must not wait for the server to exit — and a trailing partial line at the end. Chunks
 * may split a line, a UTF-8 character or a value anywhere.
 */
export function createMaskingLineStream(masker: Masker, options: MaskingLineStreamOptions = {}): Transform {
  return new MaskingLineStream(masker, options.maxLineLength ?? MAX_LINE_LENGTH);
}

class MaskingLineStream extends Transform {
  readonly #masker: Masker;
  readonly #decoder = new StringDecoder('utf8');
  /** Room for a whole value plus what it must keep back, so a cut always makes progress. */
  readonly #maxLine: number;
  #pending = '';

  constructor(masker: Masker, maxLineLength: number) {
    super();
    this.#masker = masker;
    this.#maxLine = Math.max(maxLineLength, 2 * masker.longest);
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    const scanned = this.#pending.length;
    this.#pending += typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    let start = 0;
    for (let nl = this.#pending.indexOf('\n', scanned); nl !== -1; nl = this.#pending.indexOf('\n', start)) {
      this.push(this.#masker.mask(this.#pending.slice(start, nl + 1)));
      start = nl + 1;
    }
    this.#pending = this.#pending.slice(start);
    while (this.#pending.length > this.#maxLine) {
      const { masked, rest } = this.#masker.maskPrefix(this.#pending, this.#pending.length - Math.max(this.#masker.longest - 1, 0));
      this.push(masked);
      this.#pending = rest;
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
