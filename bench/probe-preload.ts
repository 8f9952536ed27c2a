/**
 * Loaded into `mcpd run` with `node --import` by bench/daemon-shares: stamps when Node has
 * booted (this module runs), each socket connect (the first is the "does a daemon answer?"
 * probe, the second the WebSocket upgrade) and the first bytes the daemon sends back (the 101),
 * and prints them at exit. process.hrtime is CLOCK_MONOTONIC: comparable with the parent's.
 * It must not touch stdin: a listener here would swallow what the CLI has not yet read.
 */
import { Socket } from 'node:net';

const marks: Array<[string, string]> = [['booted', process.hrtime.bigint().toString()]];
const connect = Socket.prototype.connect;
Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
  marks.push(['connect', process.hrtime.bigint().toString()]);
  this.once('data', () => marks.push(['data', process.hrtime.bigint().toString()]));
  return (connect as (...a: unknown[]) => Socket).apply(this, args);
} as typeof connect;
process.on('exit', () => process.stderr.write(`\nmcpd-bench-marks ${JSON.stringify(marks)}\n`));
