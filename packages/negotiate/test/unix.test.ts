import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unix } from '@bertha/core';
import { negotiationSuite } from './transport-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'bertha-negotiate-'));
let n = 0;
negotiationSuite('Unix sockets', () => unix(), () => ({ path: join(dir, `s${++n}.sock`) }));
