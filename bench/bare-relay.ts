/**
 * The least a relay of the daemon path's shape can cost, for bench/floor: Node streams and the
 * kernel only, no framing, no WebSocket, no policy, no masking.
 *
 *   node dist/bench/bare-relay.js listen SOCKET -- CMD ARGS…   for each connection, spawns CMD and
 *                                                             pipes the connection to its stdin and
 *                                                             its stdout back (the daemon's hop)
 *   node dist/bench/bare-relay.js connect SOCKET               pipes our stdin to the socket and the
 *                                                             socket to our stdout (mcpd run's hop)
 *   node dist/bench/bare-relay.js spawn -- CMD ARGS…           spawns CMD and pipes our stdin and
 *                                                             stdout through this process (one hop)
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';

const [mode, ...rest] = process.argv.slice(2);
const dash = rest.indexOf('--');
const command = dash === -1 ? [] : rest.slice(dash + 1);

/** CMD with `input` piped to its stdin and its stdout to `output`; its stderr is dropped. */
function child(input: Readable, output: Writable): void {
  const server = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });
  input.pipe(server.stdin);
  server.stdout.pipe(output);
  server.stdin.on('error', () => {});
  input.on('end', () => server.stdin.end());
  server.on('exit', () => output.end());
}

if (mode === 'listen') {
  const path = rest[0]!;
  rmSync(path, { force: true });
  createServer((socket: Duplex) => {
    socket.on('error', () => {});
    child(socket, socket);
  }).listen(path, () => process.stdout.write('listening\n'));
} else if (mode === 'connect') {
  const socket = connect(rest[0]!);
  process.stdin.pipe(socket);
  socket.pipe(process.stdout);
  socket.on('close', () => process.exit(0));
} else if (mode === 'spawn') {
  child(process.stdin, process.stdout);
} else {
  process.stderr.write('usage: bare-relay.js listen SOCKET -- CMD… | connect SOCKET | spawn -- CMD…\n');
  process.exit(2);
}
