import { describe, expect, it } from 'vitest';
import { auditVerdict } from '../../scripts/audit.ts';

const report = (counts: Record<string, number>, vulnerabilities: Record<string, { severity: string }> = {}) =>
  JSON.stringify({ auditReportVersion: 2, vulnerabilities, metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts } } });

describe('the CI advisory check (scripts/audit.ts)', () => {
  it('passes a report without high or critical advisories', () => {
    expect(auditVerdict(report({ moderate: 2 }, { yaml: { severity: 'moderate' } }))).toMatchObject({ status: 'clean' });
  });

  it('fails on a high or critical advisory and names the packages', () => {
    expect(auditVerdict(report({ high: 1 }, { fastify: { severity: 'high' }, yaml: { severity: 'low' } }))).toMatchObject({ status: 'vulnerable', names: ['fastify'] });
    expect(auditVerdict(report({ critical: 1 }, { pino: { severity: 'critical' } }))).toMatchObject({ status: 'vulnerable', names: ['pino'] });
  });

  it('only warns when the advisory database cannot be asked', () => {
    const endpoint = JSON.stringify({ message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk', statusCode: 405 });
    expect(auditVerdict(endpoint)).toEqual({ status: 'unavailable', reason: expect.stringContaining('405') });
    expect(auditVerdict(JSON.stringify({ error: { code: 'ENOTFOUND', summary: 'getaddrinfo ENOTFOUND registry.npmjs.org' } }))).toEqual({ status: 'unavailable', reason: expect.stringContaining('ENOTFOUND') });
    expect(auditVerdict('')).toMatchObject({ status: 'unavailable' });
  });
});
