/** `DEBUG=bertha:conn`: one line per base connection opened or closed, and per stack `wrap()` built. */
import { formatHostPort } from '../base/address.js';
import { CONN_CLOSE, CONN_OPEN, type ConnCloseMessage, type ConnOpenMessage } from './conn-channels.js';
import { debugChannels } from './debug-log.js';

/** An address of any transport, as `Transport.format` prints it without the kind. */
function formatAddress(addr: unknown): string {
  if (typeof addr !== 'object' || addr === null) return String(addr);
  if ('port' in addr) return formatHostPort(addr as { host: string; port: number });
  if ('path' in addr) return (addr as { path: string }).path || '(unnamed)';
  if ('name' in addr) return (addr as { name: string }).name;
  return JSON.stringify(addr);
}

const ends = (m: { conn: { local: unknown; remote: unknown } }): string => `${formatAddress(m.conn.local)} -> ${formatAddress(m.conn.remote)}`;

debugChannels('bertha:conn', {
  [CONN_OPEN]: (m: ConnOpenMessage) =>
    m.layer === 'base' ? `open ${m.transport} ${m.role} ${ends(m)}` : `open stack ${m.role} [${m.stack.join(', ')}]`,
  [CONN_CLOSE]: (m: ConnCloseMessage) => `close ${m.transport} ${ends(m)} by ${m.by}${m.error ? `: ${m.error.message}` : ''}`,
});
