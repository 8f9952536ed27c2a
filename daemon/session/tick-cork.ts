/**
 * A stream corked for the rest of the tick on the first cork() call in it: the messages written
 * in one tick (a pipelined burst) leave in one writev, and a line and its newline are never
 * copied together to save a write.
 */
export function corkedPerTick(stream: { cork(): void; uncork(): void }): { cork(): void } {
  let corked = false;
  return {
    cork() {
      if (corked) return;
      corked = true;
      stream.cork();
      process.nextTick(() => {
        corked = false;
        stream.uncork();
      });
    },
  };
}
