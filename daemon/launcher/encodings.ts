/**
 * The forms a server is likely to print a value in, for the masker: raw; JSON-escaped as
 * JavaScript writes it, as Python's `ensure_ascii` does (`\u00e9`, every non-ASCII character),
 * as Go's encoding/json does (`\u003c\u003e\u0026`), with `\/` as PHP writes it; URL-encoded with
 * upper- or lower-case hex, `%20` or `+` for a space; hex; base64 and base64url, padded or not,
 * alone or inside a longer blob (an HTTP Basic header).
 */

/** Every encoded form of `value`, longer than `minLength` - 1 characters, without repeats. */
export function encodedForms(value: string, minLength: number): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = [value, ...jsonForms(value), ...percentForms(value), bytes.toString('hex'), bytes.toString('hex').toUpperCase()];
  for (const encoding of ['base64', 'base64url'] as const) {
    const bare = bytes.toString(encoding).replace(/=+$/, '');
    forms.push(bare, bare + '='.repeat((4 - (bare.length % 4)) % 4), ...embeddedBase64(bytes, encoding));
  }
  // stderr is handled a line at a time, so a multi-line value (a PEM key) is also masked line by line.
  if (value.includes('\n')) forms.push(...value.split(/\r?\n/));
  return [...new Set(forms)].filter((form) => form.length >= minLength);
}

/** A JSON string's body as each common encoder writes it: every mix of the three escaping choices. */
function jsonForms(value: string): string[] {
  const plain = JSON.stringify(value).slice(1, -1);
  const forms = new Set<string>();
  for (const nonAscii of [(s: string) => s, (s: string) => escapeNonAscii(s, false), (s: string) => escapeNonAscii(s, true)]) {
    for (const html of [false, true]) {
      for (const slash of [false, true]) {
        let form = nonAscii(plain);
        // Go also escapes U+2028 and U+2029; with ensure_ascii they are escaped already.
        if (html) form = form.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
        if (slash) form = form.replaceAll('/', '\\/');
        forms.add(form);
      }
    }
  }
  return [...forms];
}

/** `\uXXXX` for each UTF-16 unit past ASCII (a surrogate pair as two), as Python's json does. */
function escapeNonAscii(text: string, upper: boolean): string {
  return text.replace(/[\u0080-\uffff]/g, (c) => {
    const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
    return `\\u${upper ? hex.toUpperCase() : hex}`;
  });
}

/** encodeURIComponent's form and the form (`+` for a space) encoding, each with upper- and lower-case hex. */
function percentForms(value: string): string[] {
  const lower = (s: string) => s.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());
  const component = encodeURIComponent(value);
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  return [component, lower(component), form, lower(form)];
}

/**
 * Base64 of a longer blob that contains the value shows it as one of three character runs,
 * by the value's offset mod 3; characters that mix in neighbouring bytes are left out.
 */
function embeddedBase64(bytes: Buffer, encoding: 'base64' | 'base64url'): string[] {
  return [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString(encoding);
    const wholeChars = Math.floor((8 * (offset + bytes.length)) / 6);
    return encoded.slice([0, 2, 3][offset], wholeChars);
  });
}
