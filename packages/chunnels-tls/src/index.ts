export { tls, type TlsChunnel, type TlsOptions } from './tls.js';
export { TlsConn, type TlsSessionInfo } from './tls-conn.js';
export { maybeLocal, type MaybeLocalChunnel, type MaybeLocalOptions } from './maybe-local.js';
export { fusedTlsMaybeLocal, type FusedTlsMaybeLocalChunnel, type FusedTlsMaybeLocalOptions } from './fused.js';
export { LocalDirectory, defaultDirectory, defaultRoot, localDirectory, type LocalDirectoryOptions, type LocalEntry } from './local/directory.js';
export { Announcement } from './local/announcement.js';
export { pathChannel, type PathEvent } from './diagnostics.js';
export { machineId } from './local/identity.js';
export {
  LocalDirectoryError,
  LocalHandshakeError,
  TlsError,
  TlsExpiredError,
  TlsHandshakeError,
  TlsHandshakeTimeoutError,
  TlsUntrustedError,
  TlsWrongNameError,
} from './errors.js';
