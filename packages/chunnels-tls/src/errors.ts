import { BerthaError } from '@bertha/core';

/** A TLS handshake failed; the subclasses name the usual reasons. */
export class TlsError extends BerthaError {}

/** The peer's certificate does not chain to a trusted CA (self-signed, unknown issuer). */
export class TlsUntrustedError extends TlsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TLS_UNTRUSTED', message, options);
  }
}

/** The peer's certificate is expired or not yet valid. */
export class TlsExpiredError extends TlsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TLS_EXPIRED', message, options);
  }
}

/** The peer's certificate is valid but for another name than the one expected. */
export class TlsWrongNameError extends TlsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TLS_WRONG_NAME', message, options);
  }
}

/** The handshake did not finish in `handshakeTimeoutMs`. */
export class TlsHandshakeTimeoutError extends TlsError {
  constructor(message: string) {
    super('ERR_TLS_HANDSHAKE_TIMEOUT', message);
  }
}

/** Any other handshake failure (no common protocol version or ALPN protocol, a missing client certificate …). */
export class TlsHandshakeError extends TlsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TLS_HANDSHAKE', message, options);
  }
}

/** The machine-local directory cannot be used (wrong owner or permissions, not a directory). */
export class LocalDirectoryError extends BerthaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_LOCAL_DIRECTORY', message, options);
  }
}

/** The maybe-local handshake with the peer broke its protocol or did not finish in time. */
export class LocalHandshakeError extends BerthaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_LOCAL_HANDSHAKE', message, options);
  }
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** Maps a `node:tls` handshake error to ours; `peer` names the other end. */
export function tlsError(err: NodeJS.ErrnoException, peer: string): TlsError {
  const code = err.code ?? '';
  if (UNTRUSTED.has(code)) {
    return new TlsUntrustedError(`${peer}'s certificate is not trusted (${code}): give its CA in the \`ca\` option`, { cause: err });
  }
  if (EXPIRED.has(code)) {
    return new TlsExpiredError(`${peer}'s certificate is outside its validity period (${code}): renew it, or check the clocks`, { cause: err });
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new TlsWrongNameError(`${peer}'s certificate is for another name: ${err.message}; set \`servername\` to a name in the certificate`, { cause: err });
  }
  return new TlsHandshakeError(`TLS handshake with ${peer} failed: ${err.message}`, { cause: err });
}
