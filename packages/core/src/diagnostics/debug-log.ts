/**
 * The debug logger: `DEBUG=bertha:*` (the `debug` package's convention, as
 * in ioredis and libp2p) prints what the diagnostics channels publish. It is
 * one more subscriber of those channels, so the log and a program's own
 * subscribers see the same events.
 */
import { subscribe } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';

interface Debugger {
  (formatter: string, ...args: unknown[]): void;
  readonly enabled: boolean;
}

/** How a logger prints the messages of each channel it follows: channel name to a line. */
export type ChannelFormats = Readonly<Record<string, (message: never) => string>>;

let createDebug: ((namespace: string) => Debugger) | undefined;

/**
 * Prints the messages of `formats`' channels under `namespace` when the
 * `DEBUG` environment variable enables it when this runs (at import: set
 * `DEBUG` before the process starts). Without `DEBUG`, `debug` is not even
 * loaded and nothing subscribes, so publishing stays free.
 */
export function debugChannels(namespace: string, formats: ChannelFormats): void {
  if (!process.env.DEBUG) return;
  createDebug ??= createRequire(import.meta.url)('debug') as (namespace: string) => Debugger;
  const log = createDebug(namespace);
  if (!log.enabled) return;
  for (const [name, format] of Object.entries(formats)) {
    subscribe(name, (message) => log('%s', (format as (m: unknown) => string)(message)));
  }
}
