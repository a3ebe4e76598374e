/**
 * @bertha/core/testing — the compliance suite every base connection passes,
 * for third-party transports. Runs under vitest (an optional peer dependency).
 */
export { describeTransportCompliance, type ComplianceOptions } from './testing/transport-compliance.js';
