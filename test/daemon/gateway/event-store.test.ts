/**
 * The gateway's event store: what a resumed stream gets (the later events of its own stream,
 * in order, never the priming event), and its bound on memory per session.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BoundedEventStore } from '../../../daemon/gateway/event-store.js';

const note = (n: number): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { n } });

async function replay(store: BoundedEventStore, after: string): Promise<{ stream: string; sent: Array<[string, JSONRPCMessage]> }> {
  const sent: Array<[string, JSONRPCMessage]> = [];
  const stream = await store.replayEventsAfter(after, { send: (id, message) => Promise.resolve(void sent.push([id, message])) });
  return { stream, sent };
}

describe('BoundedEventStore', () => {
  it('replays the later events of the stream the id belongs to, in order, skipping the priming event', async () => {
    const store = new BoundedEventStore(new WeakMap());
    const priming = await store.storeEvent('a', {} as JSONRPCMessage);
    const a1 = await store.storeEvent('a', note(1));
    await store.storeEvent('b', note(2));
    await store.storeEvent('a', note(3));
    assert.equal(await store.getStreamIdForEventId(a1), 'a');
    assert.deepEqual(await replay(store, a1), { stream: 'a', sent: [['4', note(3)]] });
    assert.deepEqual((await replay(store, priming)).sent.map(([, m]) => m), [note(1), note(3)]);
  });

  it('an id it does not hold (never given, evicted, not a number) is unknown', async () => {
    const store = new BoundedEventStore(new WeakMap(), { maxEvents: 2, maxBytes: 1e9 });
    const first = await store.storeEvent('a', note(1));
    await store.storeEvent('a', note(2));
    await store.storeEvent('a', note(3));
    for (const id of [first, '99', '0', '-1', '1e3', 'a_1', '']) {
      assert.equal(await store.getStreamIdForEventId(id), undefined, id);
      assert.deepEqual(await replay(store, id), { stream: '', sent: [] }, id);
    }
  });

  it('keeps at most maxEvents, and no more than maxBytes unless the newest alone is larger', async () => {
    const sizes = new WeakMap<object, number>();
    const store = new BoundedEventStore(sizes, { maxEvents: 100, maxBytes: 1000 });
    for (let n = 0; n < 10; n++) {
      const message = note(n);
      sizes.set(message, 300);
      await store.storeEvent('a', message);
    }
    assert.equal(store.size, 3, '3 × 300 bytes fit in 1000');
    const huge = note(99);
    sizes.set(huge, 5000);
    const id = await store.storeEvent('a', huge);
    assert.equal(store.size, 1, 'the newest is kept, however large');
    assert.equal(await store.getStreamIdForEventId(id), 'a');
  });

  it('property: a replay sends exactly the kept events after the id on its stream, whatever was stored and evicted', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ stream: fc.constantFrom('a', 'b', 'c'), bytes: fc.integer({ min: 1, max: 400 }) }), { minLength: 1, maxLength: 300 }),
      fc.integer({ min: 1, max: 50 }),
      fc.nat(),
      async (events, maxEvents, pick) => {
        const sizes = new WeakMap<object, number>();
        const store = new BoundedEventStore(sizes, { maxEvents, maxBytes: 2000 });
        const ids: string[] = [];
        for (const [n, e] of events.entries()) {
          const message = note(n);
          sizes.set(message, e.bytes);
          ids.push(await store.storeEvent(e.stream, message));
        }
        assert.ok(store.size >= 1 && store.size <= maxEvents);
        const kept = ids.slice(ids.length - store.size);
        const index = pick % ids.length;
        const { stream, sent } = await replay(store, ids[index]!);
        if (!kept.includes(ids[index]!)) return assert.deepEqual({ stream, sent }, { stream: '', sent: [] });
        const expected = kept.filter((id) => Number(id) > Number(ids[index]) && events[Number(id) - 1]!.stream === events[index]!.stream);
        assert.equal(stream, events[index]!.stream);
        assert.deepEqual(sent.map(([id]) => id), expected);
      },
    ), { numRuns: 200 });
  });
});
