/**
 * `@bertha/chunnels-tls/testing`: certificates for tests, examples and
 * benchmarks, made by the `openssl` command in a temporary directory when
 * called: no private key is ever committed or kept on disk. One CA signs a server
 * certificate for `localhost`/127.0.0.1/the netns test addresses, an expired
 * one, one for another name, and a client certificate; a second CA that no
 * test trusts signs an "untrusted" server certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

export interface TestCerts {
  readonly ca: string;
  readonly server: KeyPair;
  readonly expired: KeyPair;
  readonly wrongName: KeyPair;
  readonly untrusted: KeyPair;
  readonly client: KeyPair;
}

const SERVER_NAMES = 'subjectAltName=DNS:localhost,DNS:backend.test,IP:127.0.0.1,IP:10.200.77.1,IP:10.200.77.2';

/** Makes a fresh set (about 100 ms): a CA and the certificates of `TestCerts`. */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'bertha-certs-'));
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  try {
    const ca = (name: string): void => ssl('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`, '-days', '2');
    ca('ca');
    ca('otherca');
    const leaf = (name: string, signer: string, days: string, ext?: string): KeyPair => {
      ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      const extArgs: string[] = [];
      if (ext) {
        writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
        extArgs.push('-extfile', `${name}.ext`);
      }
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.crt`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', days, ...extArgs);
      return { key: read(`${name}.key`), cert: read(`${name}.crt`) };
    };
    return {
      ca: read('ca.crt'),
      server: leaf('server', 'ca', '2', SERVER_NAMES),
      // notAfter a day before notBefore: expired from the start.
      expired: leaf('expired', 'ca', '-1', SERVER_NAMES),
      wrongName: leaf('elsewhere', 'ca', '2', 'subjectAltName=DNS:elsewhere.test'),
      untrusted: leaf('stranger', 'otherca', '2', SERVER_NAMES),
      client: leaf('client', 'ca', '2'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
