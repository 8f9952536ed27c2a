/**
 * 1Password secret references, `op://VAULT/ITEM/[SECTION/]FIELD[?attribute=…]`: checked offline
 * before any call, so a typo costs no read of a rate-limited quota, and matched against an
 * item's fields for a write (the SDK resolves reads itself).
 */
import type { Item, ItemField } from '@1password/sdk';
import { McpdError } from '../../core/errors.js';
import { type Ref, showRef } from '../provider.js';

export interface OpRef {
  readonly ref: Ref;
  /** What the SDK is given: the path, with `op://` added when written without it (`${work:Vault/Item/field}`). */
  readonly reference: string;
  readonly vault: string;
  readonly item: string;
  readonly section: string | undefined;
  readonly field: string;
  /** `attribute=otp` and the like: a value 1Password computes, readable but not writable. */
  readonly query: string | undefined;
}

/** The SDK's own offline syntax check (`Secrets.validateSecretReference`); it throws on a bad reference. */
export type ValidateReference = (reference: string) => void;

const SYNTAX_HINT = 'write it as op://VAULT/ITEM/[SECTION/]FIELD, as 1Password\'s "Copy Secret Reference" gives it; a name with other characters can be replaced by its ID';

/** Parses and checks `ref` without a network call; a bad reference is REF_MALFORMED naming it. */
export function parseOpRef(ref: Ref, validate: ValidateReference): OpRef {
  const reference = ref.path.startsWith('op://') ? ref.path : `op://${ref.path}`;
  try {
    validate(reference);
  } catch (error) {
    throw malformed(ref, sdkReason(error).replace(/^the secret reference could not be parsed: /, ''));
  }
  const [path = '', query] = splitOnce(reference.slice('op://'.length), '?');
  const parts = path.split('/');
  // The SDK accepts an empty name (op://Work//password), which can only ever fail remotely.
  const names = parts.length === 4 ? ['vault', 'item', 'section', 'field'] : ['vault', 'item', 'field'];
  const empty = parts.findIndex((part) => part.trim() === '');
  if (empty !== -1) throw malformed(ref, `its ${names[empty] ?? 'field'} name is empty`);
  const [vault = '', item = '', ...rest] = parts;
  return { ref, reference, vault, item, section: rest.length === 2 ? rest[0] : undefined, field: rest.at(-1) ?? '', query };
}

/**
 * The one field of `item` that `op` names, matched as 1Password matches references: by ID, else
 * by title ignoring case, within the named section if there is one.
 */
export function fieldOf(item: Item, op: OpRef): ItemField | McpdError {
  const matches = (wanted: string, thing: { id: string; title: string }) => thing.id === wanted || thing.title.toLowerCase() === wanted.toLowerCase();
  let candidates = item.fields;
  if (op.section !== undefined) {
    const sections = new Set(item.sections.filter((s) => matches(op.section!, s)).map((s) => s.id));
    candidates = candidates.filter((f) => f.sectionId !== undefined && sections.has(f.sectionId));
  }
  const found = candidates.filter((f) => matches(op.field, f));
  if (found.length === 1) return found[0]!;
  if (found.length === 0) return missingField(op, 'write');
  return ambiguous(op, 'field');
}

export function malformed(ref: Ref, reason: string): McpdError {
  return new McpdError('REF_MALFORMED', `${showRef(ref)} is not a valid 1Password secret reference: ${reason}`, { hint: SYNTAX_HINT });
}

export type Purpose = 'read' | 'write';

const NO_CREATE = 'mcpd does not create 1Password items or fields: add it in 1Password first, then run mcpd secret set again';

export function missingVault(op: OpRef, purpose: Purpose): McpdError {
  return new McpdError('SECRET_NOT_FOUND', `${showRef(op.ref)}: no vault "${op.vault}" in 1Password, or none this account may read`, {
    hint: purpose === 'write' ? NO_CREATE : 'check the vault name; a service account sees only the vaults it was granted',
  });
}

export function missingItem(op: OpRef, purpose: Purpose): McpdError {
  return new McpdError('SECRET_NOT_FOUND', `${showRef(op.ref)}: no item "${op.item}" in 1Password vault "${op.vault}"`, {
    hint: purpose === 'write' ? NO_CREATE : 'check the item name, or copy the reference from the item in 1Password ("Copy Secret Reference")',
  });
}

export function missingSection(op: OpRef, purpose: Purpose): McpdError {
  return new McpdError('SECRET_NOT_FOUND', `${showRef(op.ref)}: item "${op.item}" in vault "${op.vault}" has no section "${op.section ?? ''}"`, {
    hint: purpose === 'write' ? NO_CREATE : 'check the section name, or leave it out: op://VAULT/ITEM/FIELD',
  });
}

export function missingField(op: OpRef, purpose: Purpose): McpdError {
  const where = op.section === undefined ? '' : ` in section "${op.section}"`;
  return new McpdError('SECRET_NOT_FOUND', `${showRef(op.ref)}: item "${op.item}" in vault "${op.vault}" has no field "${op.field}"${where}`, {
    hint: purpose === 'write' ? NO_CREATE : 'check the field name (its label in 1Password, e.g. "password" or "credential")',
  });
}

export function ambiguous(op: OpRef, what: 'vault' | 'item' | 'field'): McpdError {
  const name = what === 'vault' ? op.vault : what === 'item' ? op.item : op.field;
  return new McpdError('PROVIDER_FAILED', `${showRef(op.ref)} is ambiguous: more than one ${what} in 1Password matches "${name}"`, {
    hint: `use the ${what}'s ID instead of its name (op ${what === 'vault' ? 'vault list' : 'item get ITEM --format json'} shows IDs)${what === 'field' ? ', or name its section' : ''}`,
  });
}

/** The SDK throws its errors as `{"name":…,"message":…}` JSON text, or as an Error holding one. */
export function sdkReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: the text is the reason
  }
  return text;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
