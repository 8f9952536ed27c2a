/**
 * An HTTPS listener's certificate and key (`socket.listen[N].tls`), read when the listener is
 * made: a file that is missing or unreadable, or a pair Node cannot use, stops the daemon from
 * starting (a reload reports it as a listener failure) with the config path that names it.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { McpdError } from '../../core/errors.js';

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

/** The PEM certificate chain and key of `tls`, checked to make a TLS context; `where` is `socket.listen[N]`. */
export function readTls(tls: TlsFiles, where: string): { cert: Buffer; key: Buffer } {
  const cert = readPem(tls.cert, `${where}.tls.cert`, 'the PEM certificate chain');
  const key = readPem(tls.key, `${where}.tls.key`, 'the PEM private key');
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    // OpenSSL's reason (e.g. "key values mismatch") names no secret.
    throw new McpdError('USAGE', `${where}.tls: ${tls.cert} and ${tls.key} are not a certificate and its private key (${(error as Error).message})`, {
      hint: 'give the PEM certificate chain as cert and the PEM private key that matches it as key',
      cause: error,
    });
  }
  return { cert, key };
}

function readPem(path: string, at: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (code ?? String(error));
    throw new McpdError('USAGE', `${at}: cannot read ${path} (${why})`, {
      hint: `give the path of ${what}, readable by the user the daemon runs as`,
      cause: error,
    });
  }
}
