import { tcp } from '@bertha/core';
import { negotiationSuite } from './transport-suite.js';

negotiationSuite('TCP', () => tcp(), () => ({ host: '127.0.0.1', port: 0 }));
