/**
 * The machine-local directory: one JSON file per announced network address,
 * under a root only this user can write, saying which Unix socket serves it,
 * which process owns it, and a random token that the process proves it holds
 * (see handshake.ts). Entries of dead processes are ignored and removed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, unix, type CallOptions } from '@bertha/core';
import { LocalDirectoryError } from '../errors.js';
import { machineId } from './identity.js';
import { Announcement } from './announcement.js';

/** One service as the directory records it. */
export interface LocalEntry {
  readonly v: 1;
  /** The network address clients dial, as the transport prints it (`tcp:127.0.0.1:4000`). */
  readonly address: string;
  /** The Unix socket serving it on this machine. */
  readonly path: string;
  readonly pid: number;
  /** Hex; the process proves over the network that it holds it. */
  readonly token: string;
  /** Host name and network namespace of the process (`machineId`). */
  readonly machine: string;
}

export interface LocalDirectoryOptions {
  /**
   * Where the entries and the Unix sockets live. Default
   * `$XDG_RUNTIME_DIR/bertha-local`, or `<os.tmpdir()>/bertha-local-<uid>`.
   * Created with mode 0700; a root owned by another user is refused.
   */
  readonly root?: string;
  /** How long a lookup's answer is reused for the same address. Default 1,000 ms; 0 reads the file every time. */
  readonly cacheMs?: number;
}

const uid = (): number => process.getuid?.() ?? -1;

export function defaultRoot(): string {
  const runtime = process.env['XDG_RUNTIME_DIR'];
  return runtime ? join(runtime, 'bertha-local') : join(tmpdir(), `bertha-local-${uid()}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isEntry(x: unknown): x is LocalEntry {
  const e = x as Partial<LocalEntry> | null;
  return (
    typeof e === 'object' && e !== null && e.v === 1 && typeof e.address === 'string' && typeof e.path === 'string' &&
    Number.isInteger(e.pid) && (e.pid as number) > 0 && typeof e.token === 'string' && /^[0-9a-f]{32}$/.test(e.token) && typeof e.machine === 'string'
  );
}

export class LocalDirectory {
  readonly root: string;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, { entry: LocalEntry | undefined; until: number }>();
  #ready: Promise<void> | undefined;

  constructor(opts: LocalDirectoryOptions = {}) {
    this.root = opts.root ?? defaultRoot();
    this.#cacheMs = opts.cacheMs ?? 1000;
    if (!(this.#cacheMs >= 0)) throw new InvalidArgumentError(`localDirectory: cacheMs must be ≥ 0, got ${this.#cacheMs}`);
  }

  /** The file of an address's entry. */
  fileOf(address: string): string {
    return join(this.root, `${createHash('sha256').update(address).digest('hex').slice(0, 32)}.json`);
  }

  /**
   * The live entry for `address` on this machine, or undefined: no entry,
   * an unreadable or foreign one (another user's file, another machine or
   * network namespace), or one whose process is gone (then it is removed).
   */
  async lookup(address: string): Promise<LocalEntry | undefined> {
    const cached = this.#cache.get(address);
    const now = Date.now();
    if (cached && cached.until > now) return cached.entry;
    const entry = await this.#read(address);
    if (this.#cacheMs > 0) this.#cache.set(address, { entry, until: now + this.#cacheMs });
    return entry;
  }

  /** Forgets what a lookup of `address` said (its Unix socket did not answer). */
  forget(address: string): void {
    this.#cache.delete(address);
  }

  async #read(address: string): Promise<LocalEntry | undefined> {
    const file = this.fileOf(address);
    let text: string;
    try {
      const st = await stat(file);
      if (st.uid !== uid() && st.uid !== 0) return undefined;
      text = await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (!isEntry(entry) || entry.address !== address || entry.machine !== machineId) return undefined;
    if (!alive(entry.pid)) {
      await rm(file, { force: true }).catch(() => undefined);
      return undefined;
    }
    return entry;
  }

  /** Creates the root (mode 0700) once, and refuses one that others could write. */
  ready(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      const st = await stat(this.root);
      if (!st.isDirectory()) throw new LocalDirectoryError(`${this.root} is not a directory: pick another root`);
      if (st.uid !== uid()) throw new LocalDirectoryError(`${this.root} belongs to uid ${st.uid}, not to this user: pick another root`);
      if ((st.mode & 0o022) !== 0) throw new LocalDirectoryError(`${this.root} is writable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 700 it`);
    })().catch((err: unknown) => {
      // Let a later call try again (the root may be fixed meanwhile).
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  /**
   * Serves `addresses` (as clients print them, e.g. `tcp().format(listener.address)`)
   * on a new Unix socket under the root and records them in the directory.
   * Close the announcement when the service stops: it removes the entries.
   */
  async announce(addresses: string | readonly string[], opts?: CallOptions): Promise<Announcement> {
    const list = typeof addresses === 'string' ? [addresses] : [...addresses];
    if (list.length === 0) throw new InvalidArgumentError('announce needs at least one address');
    await this.ready();
    const token = randomBytes(16).toString('hex');
    const path = join(this.root, `${token.slice(0, 16)}.sock`);
    const listener = await unix().listen({ path }, opts);
    const entries = list.map((address): LocalEntry => ({ v: 1, address, path, pid: process.pid, token, machine: machineId }));
    const ann = new Announcement(this, token, listener, entries);
    try {
      for (const e of entries) await this.#write(e);
    } catch (err) {
      await ann.close();
      throw err;
    }
    return ann;
  }

  async #write(e: LocalEntry): Promise<void> {
    const file = this.fileOf(e.address);
    const tmp = `${file}.${e.token.slice(0, 8)}.tmp`;
    await writeFile(tmp, JSON.stringify(e), { mode: 0o600 });
    await rename(tmp, file);
    this.#cache.delete(e.address);
  }

  /** Removes an entry if it is still this token's (a newer service may have replaced it). */
  async remove(e: LocalEntry): Promise<void> {
    this.#cache.delete(e.address);
    const file = this.fileOf(e.address);
    try {
      const now = JSON.parse(await readFile(file, 'utf8')) as Partial<LocalEntry>;
      if (now.token === e.token) await rm(file, { force: true });
    } catch {
      // Already gone or unreadable: nothing of ours to remove.
    }
  }
}

/** A directory at `opts.root` (default: `defaultRoot()`). */
export function localDirectory(opts: LocalDirectoryOptions = {}): LocalDirectory {
  return new LocalDirectory(opts);
}

let shared: LocalDirectory | undefined;

/** The directory Chunnels use when given none: the default root, one object per process. */
export function defaultDirectory(): LocalDirectory {
  return (shared ??= new LocalDirectory());
}
