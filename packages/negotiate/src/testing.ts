/**
 * @bertha/negotiate/testing — the compliance suite every rendezvous store
 * passes, for third-party stores, and its event helper. Runs under vitest (an
 * optional peer dependency).
 */
export { eventLog, storeComplianceSuite, type OpenStores } from './testing/store-compliance.js';
