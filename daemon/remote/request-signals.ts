/**
 * The SDK's transports give every request one AbortSignal (their own, aborted on close), and
 * node's fetch leaves an abort listener on it for each request until that request is garbage
 * collected: a busy session (pipelined bursts) passes the 1,500 listeners at which node warns
 * of a leak. Here each request gets a signal of its own, aborted when the shared one is, with
 * one listener on the shared signal per transport.
 */
import type { FetchLike } from './origin-fetch.js';

/** Prune collected requests once this many are tracked. */
const PRUNE_AT = 256;

/** A fetch that hands `base` a signal per request, tied to the signal the caller passed. */
export function perRequestSignals(base: FetchLike): FetchLike {
  const live = new WeakMap<AbortSignal, Set<WeakRef<AbortController>>>();
  // A request's controller lives as long as its response body: a stream being read can still be aborted.
  const keep = new WeakMap<object, AbortController>();
  const track = (shared: AbortSignal): Set<WeakRef<AbortController>> => {
    let set = live.get(shared);
    if (set) return set;
    const created = new Set<WeakRef<AbortController>>();
    live.set(shared, created);
    shared.addEventListener('abort', () => {
      for (const ref of created) ref.deref()?.abort(shared.reason);
      created.clear();
    }, { once: true });
    return (set = created);
  };
  return async (url, init = {}) => {
    const shared = init.signal;
    if (!shared || shared.aborted) return base(url, init);
    const set = track(shared);
    if (set.size >= PRUNE_AT) for (const ref of set) if (ref.deref() === undefined) set.delete(ref);
    const controller = new AbortController();
    set.add(new WeakRef(controller));
    const response = await base(url, { ...init, signal: controller.signal });
    if (response.body) keep.set(response.body, controller);
    return response;
  };
}
