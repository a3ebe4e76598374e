import { mem, memNetwork } from '@bertha/core';
import { negotiationSuite } from './transport-suite.js';

negotiationSuite('in-memory', () => mem(memNetwork()), () => ({ name: '' }));
