import { udp } from '@bertha/core';
import { negotiationSuite } from './transport-suite.js';

negotiationSuite('UDP', () => udp(), () => ({ host: '127.0.0.1', port: 0 }));
