/**
 * The maybe-local handshake's messages. The first byte of each is MAGIC, the
 * second its type:
 *
 *   REMOTE  client → server, network  [MAGIC, 0]                       use the network
 *   LOCAL   client → server, network  [MAGIC, 1, flags, token(16), nonce(16), machine…]
 *   ANSWER  server → client, network  [MAGIC, 2, accepted (0|1), flags]
 *   CLAIM   client → server, Unix     [MAGIC, 3, nonce(16)]
 *
 * flags bit 0 (PLAIN_LOCAL): this end is the fused Chunnel and skips TLS on
 * the local path; TLS is skipped only when both ends set it.
 */
export const MAGIC = 0xb1;
export const REMOTE = 0;
export const LOCAL = 1;
export const ANSWER = 2;
export const CLAIM = 3;
export const PLAIN_LOCAL = 1;
export const TOKEN_BYTES = 16;
export const NONCE_BYTES = 16;

export const remoteHello = Uint8Array.of(MAGIC, REMOTE);

export function localHello(flags: number, token: Uint8Array, nonce: Uint8Array, machine: string): Uint8Array {
  const m = Buffer.from(machine, 'utf8');
  const out = Buffer.allocUnsafe(3 + TOKEN_BYTES + NONCE_BYTES + m.byteLength);
  out[0] = MAGIC;
  out[1] = LOCAL;
  out[2] = flags;
  out.set(token, 3);
  out.set(nonce, 3 + TOKEN_BYTES);
  out.set(m, 3 + TOKEN_BYTES + NONCE_BYTES);
  return out;
}

export interface LocalHello {
  readonly flags: number;
  readonly token: string;
  readonly nonce: string;
  readonly machine: string;
}

/** A LOCAL message's fields (token and nonce in hex), or undefined if `m` is not one. */
export function parseLocalHello(m: Uint8Array): LocalHello | undefined {
  if (m.byteLength < 3 + TOKEN_BYTES + NONCE_BYTES || m[0] !== MAGIC || m[1] !== LOCAL) return undefined;
  const b = Buffer.from(m.buffer, m.byteOffset, m.byteLength);
  return {
    flags: b[2] as number,
    token: b.toString('hex', 3, 3 + TOKEN_BYTES),
    nonce: b.toString('hex', 3 + TOKEN_BYTES, 3 + TOKEN_BYTES + NONCE_BYTES),
    machine: b.toString('utf8', 3 + TOKEN_BYTES + NONCE_BYTES),
  };
}

export const answer = (accepted: boolean, flags: number): Uint8Array => Uint8Array.of(MAGIC, ANSWER, accepted ? 1 : 0, flags);

export function claim(nonce: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + NONCE_BYTES);
  out[0] = MAGIC;
  out[1] = CLAIM;
  out.set(nonce, 2);
  return out;
}
