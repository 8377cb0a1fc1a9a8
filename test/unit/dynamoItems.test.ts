import { describe, expect, it } from '@jest/globals';
import {
  apiKeyKey, decodeApiKeyItem, decodeIssuerItem, decodePartnerItem, decodeVersionItem, encodeApiKeyItem, encodeAuditItem,
  encodeLockItem, encodePartnerItem, encodeVersionItem, InvalidItemError, issuerKey, originKey, partnerKey, pointerItemsFor,
} from '../../src/adapters/dynamo/items.js';
import { partnersOf } from '../../src/config/load.js';
import { brokerConfig, FIXTURE_ISSUER } from '../support/configFixture.js';

const meta = { updatedAt: new Date('2026-11-30T12:00:00Z'), updatedBy: 'arn:aws:iam::111111111111:user/ops' };
const partners = () => partnersOf(brokerConfig({ partners: { acme: { clients: { backend: { apiKeys: [{ id: 'acmek1', sha256: 'a'.repeat(64), expires: '2027-06-30' }] } } } } }));

describe('grant table item codec', () => {
  it('round-trips a partner exactly as the YAML config holds it (dates as Date again)', () => {
    const acme = partners().get('acme')!;
    const item = encodePartnerItem('acme', acme, meta);
    expect(item.pk).toBe('PARTNER#acme');
    // Stored form: plain JSON, the date as an ISO string
    expect(JSON.stringify(item)).toContain('"expires":"2027-06-30T00:00:00.000Z"');
    const decoded = decodePartnerItem('acme', item);
    expect(decoded).toEqual({ ok: true, value: { partnerId: 'acme', partner: acme, updatedAt: '2026-11-30T12:00:00.000Z', updatedBy: meta.updatedBy } });
  });

  it('refuses to encode an invalid partner, naming the field', () => {
    const acme = { ...partners().get('acme')!, bucket: 'Not A Bucket' };
    expect(() => encodePartnerItem('acme', acme, meta)).toThrow(InvalidItemError);
    expect(() => encodePartnerItem('acme', acme, meta)).toThrow(/partner\.bucket/);
    expect(() => encodePartnerItem('Bad Name', partners().get('acme')!, meta)).toThrow(/partnerId/);
  });

  it.each([
    ['a partner item stored under another partner\'s key', (item: Record<string, unknown>) => ({ ...item, pk: 'PARTNER#globex' }), 'globex'],
    ['an unknown attribute', (item: Record<string, unknown>) => ({ ...item, extra: 1 }), 'acme'],
    ['a wildcard prefix', (item: Record<string, unknown>) => {
      const partner = structuredClone(item.partner) as { clients: Record<string, { prefix: string }> };
      partner.clients.backend!.prefix = '*/';
      return { ...item, partner };
    }, 'acme'],
    ['the wrong kind', (item: Record<string, unknown>) => ({ ...item, kind: 'apikey' }), 'acme'],
    ['not an object', () => 'PARTNER#acme', 'acme'],
  ])('refuses on read %s, with a reason', (_name, mutate, id) => {
    const item = encodePartnerItem('acme', partners().get('acme')!, meta) as unknown as Record<string, unknown>;
    const decoded = decodePartnerItem(id, mutate(item));
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.reason.length).toBeGreaterThan(0);
  });

  it('refuses a partner item too large for DynamoDB', () => {
    const acme = structuredClone(partners().get('acme')!);
    acme.clients.backend!.apiKeys = Array.from({ length: 4000 }, (_, i) => ({ id: `k${i}`, sha256: 'b'.repeat(64) }));
    expect(() => encodePartnerItem('acme', acme, meta)).toThrow(/over the \d+-byte bound/);
  });

  it('derives every pointer item from the partners, merging clients per issuer and origin', () => {
    const items = pointerItemsFor(partners());
    expect(items.map((i) => i.pk).sort()).toEqual([
      apiKeyKey('acmek1'), apiKeyKey('globexk1'), issuerKey(FIXTURE_ISSUER), originKey('https://app.acme.example'),
    ].sort());
    expect(items.find((i) => i.pk === issuerKey(FIXTURE_ISSUER))).toEqual({ pk: issuerKey(FIXTURE_ISSUER), kind: 'issuer', issuer: FIXTURE_ISSUER, clients: [{ partnerId: 'acme', clientId: 'app' }] });
  });

  it('refuses a pointer whose key does not match its fields', () => {
    const item = encodeApiKeyItem('acmek1', { partnerId: 'acme', clientId: 'backend' });
    expect(decodeApiKeyItem('acmek1', item).ok).toBe(true);
    expect(decodeApiKeyItem('other', item).ok).toBe(false);
    expect(decodeIssuerItem(FIXTURE_ISSUER, { pk: issuerKey(FIXTURE_ISSUER), kind: 'issuer', issuer: FIXTURE_ISSUER, clients: [] }).ok).toBe(false);
  });

  it('refuses keys DynamoDB would refuse', () => {
    expect(() => partnerKey('')).toThrow(InvalidItemError);
    expect(() => issuerKey(`https://${'x'.repeat(2100)}`)).toThrow(/2048 bytes/);
  });

  it('encodes meta and audit items', () => {
    expect(decodeVersionItem(encodeVersionItem(7, meta.updatedAt))).toEqual({ ok: true, value: { pk: 'META#version', kind: 'version', version: 7, updatedAt: '2026-11-30T12:00:00.000Z' } });
    expect(decodeVersionItem({ pk: 'META#version', kind: 'version', version: -1, updatedAt: '2026-11-30T12:00:00Z' }).ok).toBe(false);
    expect(() => encodeVersionItem(1.5, meta.updatedAt)).toThrow(InvalidItemError);
    expect(encodeLockItem('me', 1).pk).toBe('META#lock');
    const audit = encodeAuditItem({ at: meta.updatedAt, by: meta.updatedBy, action: 'key.disable', target: 'acme/backend/acmek1', reason: undefined }, 'r1');
    expect(audit).toEqual({ pk: 'AUDIT#2026-11-30T12:00:00.000Z#r1', kind: 'audit', at: '2026-11-30T12:00:00.000Z', by: meta.updatedBy, action: 'key.disable', target: 'acme/backend/acmek1' });
  });
});
