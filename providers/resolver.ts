/**
 * Turns a server's `env` block into the values its child gets. Each distinct reference is
 * resolved once, in one batch per provider; every failure is reported together (naming each
 * variable and reference, never a value), so a user fixes a config in one pass.
 *
 * Rules (README "References"): a reference into a secret store must not be empty; a
 * variable whose references all came out empty (`Bearer ${TOKEN}` with TOKEN="") is dropped;
 * a variable listed in `optional` is dropped instead of failing when its secret is missing or empty.
 */
import { McpdError } from '../core/errors.js';
import type { Lease, Ref, Resolution, Resolved } from './provider.js';
import { showRef } from './provider.js';
import { parseValue, render, type Segment } from './reference.js';
import type { ProviderRegistry } from './registry.js';

export interface EnvSpec {
  readonly env: Readonly<Record<string, string>>;
  readonly optional?: readonly string[];
}

export interface ResolvedEnv {
  /** Variable → final value; dropped variables are absent. */
  readonly env: Record<string, string>;
  /** Every resolved reference value, for masking the child's stderr. */
  readonly secrets: Array<{ variable: string; value: string }>;
  /** Every reference used, for status and the audit log. */
  readonly refs: Ref[];
  /** Variables left out, with why (for --verbose). */
  readonly dropped: Array<{ variable: string; reason: string }>;
  /** Leases of the values the child gets (Vault dynamic secrets), once each: its owner renews and revokes them. */
  readonly leases: Array<{ ref: Ref; lease: Lease }>;
}

/** Names where a variable was set, for errors: `mcpServers.github.env.TOKEN`, or `-e TOKEN`. */
export type PlaceOf = (variable: string) => string;

/** Resolves `spec.env`, naming each variable in errors by `placeOf`. */
export async function resolveEnv(spec: EnvSpec, registry: ProviderRegistry, placeOf: PlaceOf): Promise<ResolvedEnv> {
  const parsed = Object.entries(spec.env).map(([variable, text]) => ({ variable, segments: parseValue(text, placeOf(variable)) }));
  const outcomes = await resolveAll(parsed.flatMap((p) => refsIn(p.segments)), registry);
  const optional = new Set(spec.optional ?? []);
  const result: ResolvedEnv = { env: {}, secrets: [], refs: [...outcomes.keys()].map((raw) => outcomes.get(raw)!.ref), dropped: [], leases: [] };
  const failures: McpdError[] = [];

  for (const { variable, segments } of parsed) {
    const refs = refsIn(segments);
    const problem = refs.map((ref) => checkOutcome(ref, outcomes.get(ref.raw)!.outcome)).find((e) => e !== undefined);
    if (problem) {
      if (optional.has(variable) && isAbsence(problem)) result.dropped.push({ variable, reason: problem.message });
      else failures.push(withPlace(problem, placeOf(variable)));
      continue;
    }
    const valueOf = (ref: Ref) => (outcomes.get(ref.raw)!.outcome as Resolved).value;
    if (refs.length > 0 && refs.every((ref) => valueOf(ref) === '')) {
      result.dropped.push({ variable, reason: 'its references resolved to empty values' });
      continue;
    }
    result.env[variable] = render(segments, valueOf);
    for (const ref of refs) if (valueOf(ref) !== '') result.secrets.push({ variable, value: valueOf(ref) });
  }
  const leased = leasesOf(outcomes);
  if (failures.length > 0) {
    // Nobody will run with these credentials: give them back rather than let them live out their TTL.
    await revokeLeases(leased, registry);
    throw failures.length === 1 ? failures[0]! : summary(failures);
  }
  result.leases.push(...leased);
  return result;
}

/** Each lease once, though several references (two fields of one Vault read) may carry it. */
function leasesOf(outcomes: Outcomes): Array<{ ref: Ref; lease: Lease }> {
  const byId = new Map<string, { ref: Ref; lease: Lease }>();
  for (const { ref, outcome } of outcomes.values()) {
    if (outcome instanceof McpdError || !outcome.lease) continue;
    const key = `${ref.provider}\0${outcome.lease.id}`;
    if (!byId.has(key)) byId.set(key, { ref, lease: outcome.lease });
  }
  return [...byId.values()];
}

/** Revokes leases, best effort: a failure to revoke never hides the error that led here. */
export async function revokeLeases(leases: ReadonlyArray<{ ref: Ref; lease: Lease }>, registry: ProviderRegistry): Promise<void> {
  await Promise.allSettled(leases.map(async ({ ref, lease }) => (await registry.get(ref.provider)).revoke?.(lease)));
}

function refsIn(segments: readonly Segment[]): Ref[] {
  return segments.flatMap((s) => ('ref' in s ? [s.ref] : []));
}

type Outcomes = Map<string, { ref: Ref; outcome: Resolution }>;

/** Resolves each distinct reference once, one batch per provider; a provider that throws fails its whole batch. */
export async function resolveAll(refs: readonly Ref[], registry: ProviderRegistry): Promise<Outcomes> {
  const byProvider = new Map<string, Ref[]>();
  const seen = new Set<string>();
  for (const ref of refs) {
    if (seen.has(ref.raw)) continue;
    seen.add(ref.raw);
    byProvider.set(ref.provider, [...(byProvider.get(ref.provider) ?? []), ref]);
  }
  const outcomes: Outcomes = new Map();
  await Promise.all([...byProvider].map(async ([name, batch]) => {
    let results: Resolution[];
    try {
      const provider = await registry.get(name);
      results = await provider.resolve(batch);
    } catch (error) {
      const failure = error instanceof McpdError ? error : new McpdError('PROVIDER_FAILED', `provider "${name}" failed: ${String(error)}`, { cause: error });
      results = batch.map(() => failure);
    }
    batch.forEach((ref, i) => outcomes.set(ref.raw, { ref, outcome: results[i]! }));
  }));
  return outcomes;
}

function checkOutcome(ref: Ref, outcome: Resolution): McpdError | undefined {
  if (outcome instanceof McpdError) return outcome;
  if (outcome.value === '' && ref.provider !== 'env') {
    return new McpdError('SECRET_EMPTY', `${showRef(ref)} resolved to an empty value`, {
      hint: `store a value (mcpd secret set ${ref.raw}), or list the variable in "optional" if the server can run without it`,
    });
  }
  return undefined;
}

function isAbsence(error: McpdError): boolean {
  return error.code === 'SECRET_NOT_FOUND' || error.code === 'SECRET_EMPTY' || error.code === 'ENV_UNSET';
}

function withPlace(error: McpdError, place: string): McpdError {
  return new McpdError(error.code, `${place}: ${error.message}`, { hint: error.hint, cause: error });
}

function summary(failures: McpdError[]): McpdError {
  const lines = failures.map((f) => `  ${f.message}${f.hint ? `\n    hint: ${f.hint}` : ''}`);
  return new McpdError('SECRET_UNRESOLVED', `${failures.length} references could not be resolved:\n${lines.join('\n')}`, {
    errors: failures,
  });
}

/** Resolves the references in one piece of text (command, args, cwd), failing on the first problem. */
export async function resolveText(text: string, registry: ProviderRegistry, where: string): Promise<string> {
  const segments = parseValue(text, where);
  const outcomes = await resolveAll(refsIn(segments), registry);
  for (const { outcome } of outcomes.values()) {
    if (outcome instanceof McpdError) throw withPlace(outcome, where);
  }
  return render(segments, (ref) => (outcomes.get(ref.raw)!.outcome as Resolved).value);
}
