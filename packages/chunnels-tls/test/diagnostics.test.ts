import { describe, expect, it } from 'vitest';
import { runScript } from '../../core/test/diagnostics/helpers.js';

describe('DEBUG=bertha:chunnels-tls', () => {
  const script = `
    import { channel } from 'node:diagnostics_channel';
    import '@bertha/chunnels-tls';
    channel('bertha:chunnels-tls:path').publish({ chunnel: 'maybe-local', role: 'client', peer: 'tcp:127.0.0.1:4433', local: true, encrypted: false });`;

  it('prints each path event when DEBUG enables it, and nothing otherwise', () => {
    const on = runScript(script, { DEBUG: 'bertha:*' });
    expect(on.status).toBe(0);
    expect(on.stderr).toMatch(/bertha:chunnels-tls maybe-local client tcp:127\.0\.0\.1:4433: local \(Unix socket\), not encrypted/);
    const off = runScript(script, {});
    expect(off.status).toBe(0);
    expect(off.stderr).toBe('');
  }, 60_000);
});
