/**
 * The grant table's items (docs/grant-store.md): key helpers, the encoder the admin writer uses and
 * the decoder the broker's reader uses. Both sides validate every item with the same schemas as the
 * YAML config (config/schema.ts), so an item the writer would refuse is also refused on read.
 *
 * One table, partition key `pk` only:
 * - `PARTNER#<id>`: the whole partner as in the YAML config (clients, key hashes, flags, revocations);
 * - `APIKEY#<keyId>`, `ISSUER#<issuer>`, `ORIGIN#<origin>`: pointers to the partner items that hold
 *   the truth (a pointer never grants anything by itself: the reader re-checks it in the partner item);
 * - `META#version` (one number, +1 per committed write), `META#lock` (the writers' lease);
 * - `AUDIT#<instant>#<random>`: who changed what, when and why.
 *
 * Pure: no SDK import, so scripts and tests use it without a client. Items are the plain objects
 * lib-dynamodb's document client marshals (strings, numbers, booleans, lists, maps).
 */
import * as z from 'zod';
import { partnerSchema } from '../../config/schema.js';
import type { Partner } from '../../domain/model.js';
import { API_KEY_ID, NAME } from '../../rules/identifiers.js';

export const PARTNER_PREFIX = 'PARTNER#';
export const APIKEY_PREFIX = 'APIKEY#';
export const ISSUER_PREFIX = 'ISSUER#';
export const ORIGIN_PREFIX = 'ORIGIN#';
export const AUDIT_PREFIX = 'AUDIT#';
export const VERSION_PK = 'META#version';
export const LOCK_PK = 'META#lock';
/** The table's only key attribute (string partition key, no sort key). */
export const PK = 'pk';

/** DynamoDB's bound on a partition key value (bytes, UTF-8). */
export const MAX_PK_BYTES = 2048;
/**
 * DynamoDB refuses items over 400 KB; a partner item is refused by the encoder well before that
 * (attribute names and the other attributes count too), so an oversized partner is a clear
 * writer error and never a half-applied write.
 */
export const MAX_PARTNER_ITEM_BYTES = 350 * 1024;

/** Thrown by the encoders: the item would be invalid, so it is never written. */
export class InvalidItemError extends Error {
  override readonly name = 'InvalidItemError';
}

function key(prefix: string, value: string): string {
  const pk = `${prefix}${value}`;
  if (value.length === 0) throw new InvalidItemError(`${prefix} key needs a non-empty value`);
  if (Buffer.byteLength(pk, 'utf8') > MAX_PK_BYTES) throw new InvalidItemError(`${prefix} key longer than ${MAX_PK_BYTES} bytes`);
  return pk;
}

export const partnerKey = (partnerId: string): string => key(PARTNER_PREFIX, partnerId);
export const apiKeyKey = (keyId: string): string => key(APIKEY_PREFIX, keyId);
export const issuerKey = (issuer: string): string => key(ISSUER_PREFIX, issuer);
export const originKey = (origin: string): string => key(ORIGIN_PREFIX, origin);
/** `AUDIT#<ISO instant>#<random>`: sortable by time when listed, unique per write. */
export const auditKey = (at: Date, random: string): string => key(AUDIT_PREFIX, `${at.toISOString()}#${random}`);

const partnerId = z.string().regex(NAME, 'must be a partner name');
const clientId = z.string().regex(NAME, 'must be a client name');
const isoInstant = z.iso.datetime({ offset: false });
const clientRef = z.strictObject({ partnerId, clientId });

/** A partner item as stored: `partner` is exactly a `partners.<id>` entry of the YAML config, dates as ISO strings. */
const partnerItemSchema = z.strictObject({
  pk: z.string(),
  kind: z.literal('partner'),
  partnerId,
  partner: partnerSchema,
  updatedAt: isoInstant,
  updatedBy: z.string().min(1).max(2048),
  reason: z.string().max(1024).optional(),
});
const apiKeyItemSchema = z.strictObject({
  pk: z.string(),
  kind: z.literal('apikey'),
  keyId: z.string().regex(API_KEY_ID, 'must be an API key id'),
  partnerId,
  clientId,
});
const issuerItemSchema = z.strictObject({
  pk: z.string(),
  kind: z.literal('issuer'),
  issuer: z.string().min(1),
  clients: z.array(clientRef).min(1),
});
const originItemSchema = z.strictObject({
  pk: z.string(),
  kind: z.literal('origin'),
  origin: z.string().min(1),
  clients: z.array(clientRef).min(1),
});
const versionItemSchema = z.strictObject({
  pk: z.literal(VERSION_PK),
  kind: z.literal('version'),
  version: z.number().int().nonnegative(),
  updatedAt: isoInstant,
});
const lockItemSchema = z.strictObject({
  pk: z.literal(LOCK_PK),
  kind: z.literal('lock'),
  owner: z.string().min(1),
  expiresAt: z.number().int().nonnegative(),
});
const auditItemSchema = z.strictObject({
  pk: z.string().startsWith(AUDIT_PREFIX),
  kind: z.literal('audit'),
  at: isoInstant,
  by: z.string().min(1).max(2048),
  action: z.string().min(1).max(200),
  target: z.string().min(1).max(2048),
  reason: z.string().max(1024).optional(),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
});

/** A stored partner item (the partner's JSON form: ISO strings for dates, no undefined fields). */
export type PartnerItem = z.input<typeof partnerItemSchema>;
export type ApiKeyItem = z.infer<typeof apiKeyItemSchema>;
export type IssuerItem = z.infer<typeof issuerItemSchema>;
export type OriginItem = z.infer<typeof originItemSchema>;
export type VersionItem = z.infer<typeof versionItemSchema>;
export type LockItem = z.infer<typeof lockItemSchema>;
export type AuditItem = z.infer<typeof auditItemSchema>;
export type ClientRef = z.infer<typeof clientRef>;
/** Any pointer item: derived from the partner items, rewritten by every write that changes them. */
export type PointerItem = ApiKeyItem | IssuerItem | OriginItem;

/** A decoded item, or why it was refused (the reader logs the reason and treats the item as absent). */
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

function refuse(issues: ReadonlyArray<z.core.$ZodIssue>): { ok: false; reason: string } {
  const reason = issues.slice(0, 5).map((i) => `${i.path.length > 0 ? i.path.join('.') : '(item)'}: ${i.message}`).join('; ');
  return { ok: false, reason: issues.length > 5 ? `${reason}; and ${issues.length - 5} more` : reason };
}

/**
 * Validates `raw` and checks that it is the item for `expectedPk`: its pk is that key AND the key
 * derived from its own fields (`derive`) is too. An item copied under another key (APIKEY#a saying
 * keyId b, PARTNER#x holding partnerId y) would otherwise answer for an id it does not describe.
 */
function decodeWith<T extends { pk: string }>(schema: z.ZodType<T>, raw: unknown, expectedPk: string, derive: (item: T) => string): Decoded<T> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return refuse(parsed.error.issues);
  let derived: string;
  try {
    derived = derive(parsed.data);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (parsed.data.pk !== expectedPk || derived !== expectedPk) {
    return { ok: false, reason: `pk ${JSON.stringify(parsed.data.pk)} (fields say ${JSON.stringify(derived)}) is not the expected ${JSON.stringify(expectedPk)}` };
  }
  return { ok: true, value: parsed.data };
}

const partnerPk = (i: { partnerId: string }) => partnerKey(i.partnerId);
const apiKeyPk = (i: { keyId: string }) => apiKeyKey(i.keyId);
const issuerPk = (i: { issuer: string }) => issuerKey(i.issuer);
const originPk = (i: { origin: string }) => originKey(i.origin);
const constantPk = (pk: string) => () => pk;

/** Plain JSON data: Dates become ISO strings, undefined fields disappear (DynamoDB has no undefined). */
function toJsonData<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

// ---- partner items ----

export interface WriteMeta {
  updatedAt: Date;
  /** The writer's AWS identity ARN (or another operator identity). */
  updatedBy: string;
  reason?: string | undefined;
}

/**
 * The item for one partner. Validates the partner with the config schema (the same as a YAML
 * `partners.<id>` entry) and the item's size; throws InvalidItemError naming every bad field.
 * Whole-store invariants (unique key ids, issuer+audience, subject folders) are the writer's to check
 * across all partners before writing (rules/storeInvariants.ts, config/crossChecks.ts).
 */
export function encodePartnerItem(id: string, partner: Partner, meta: WriteMeta): PartnerItem {
  const item = {
    pk: partnerKey(id),
    kind: 'partner' as const,
    partnerId: id,
    partner: toJsonData(partner),
    updatedAt: meta.updatedAt.toISOString(),
    updatedBy: meta.updatedBy,
    ...(meta.reason === undefined ? {} : { reason: meta.reason }),
  };
  const checked = decodeWith(partnerItemSchema, item, item.pk, partnerPk);
  if (!checked.ok) throw new InvalidItemError(`partner ${JSON.stringify(id)}: ${checked.reason}`);
  const bytes = Buffer.byteLength(JSON.stringify(item), 'utf8');
  if (bytes > MAX_PARTNER_ITEM_BYTES) {
    throw new InvalidItemError(`partner ${JSON.stringify(id)}: item would be ${bytes} bytes, over the ${MAX_PARTNER_ITEM_BYTES}-byte bound (DynamoDB items are at most 400 KB); split its clients over more partners`);
  }
  return item as PartnerItem;
}

/** A decoded partner item: the model, dates as Date, defaults applied exactly as for the YAML config. */
export interface PartnerRecord {
  partnerId: string;
  partner: Partner;
  updatedAt: string;
  updatedBy: string;
  reason?: string | undefined;
}

/** Decodes and validates the item stored under `PARTNER#<partnerId>`. */
export function decodePartnerItem(id: string, raw: unknown): Decoded<PartnerRecord> {
  const decoded = decodeWith(partnerItemSchema, raw, partnerKey(id), partnerPk);
  if (!decoded.ok) return decoded;
  const { partnerId: pid, partner, updatedAt, updatedBy, reason } = decoded.value;
  return { ok: true, value: { partnerId: pid, partner, updatedAt, updatedBy, ...(reason === undefined ? {} : { reason }) } };
}

// ---- pointer items ----

export function encodeApiKeyItem(keyId: string, owner: ClientRef): ApiKeyItem {
  const item: ApiKeyItem = { pk: apiKeyKey(keyId), kind: 'apikey', keyId, partnerId: owner.partnerId, clientId: owner.clientId };
  const checked = decodeWith(apiKeyItemSchema, item, item.pk, apiKeyPk);
  if (!checked.ok) throw new InvalidItemError(`API key pointer ${JSON.stringify(keyId)}: ${checked.reason}`);
  return item;
}

export function decodeApiKeyItem(keyId: string, raw: unknown): Decoded<ApiKeyItem> {
  return decodeWith(apiKeyItemSchema, raw, apiKeyKey(keyId), apiKeyPk);
}

export function encodeIssuerItem(issuer: string, clients: ClientRef[]): IssuerItem {
  const item: IssuerItem = { pk: issuerKey(issuer), kind: 'issuer', issuer, clients: sortRefs(clients) };
  const checked = decodeWith(issuerItemSchema, item, item.pk, issuerPk);
  if (!checked.ok) throw new InvalidItemError(`issuer pointer ${JSON.stringify(issuer)}: ${checked.reason}`);
  return item;
}

export function decodeIssuerItem(issuer: string, raw: unknown): Decoded<IssuerItem> {
  return decodeWith(issuerItemSchema, raw, issuerKey(issuer), issuerPk);
}

export function encodeOriginItem(origin: string, clients: ClientRef[]): OriginItem {
  const item: OriginItem = { pk: originKey(origin), kind: 'origin', origin, clients: sortRefs(clients) };
  const checked = decodeWith(originItemSchema, item, item.pk, originPk);
  if (!checked.ok) throw new InvalidItemError(`origin pointer ${JSON.stringify(origin)}: ${checked.reason}`);
  return item;
}

export function decodeOriginItem(origin: string, raw: unknown): Decoded<OriginItem> {
  return decodeWith(originItemSchema, raw, originKey(origin), originPk);
}

function sortRefs(refs: ClientRef[]): ClientRef[] {
  const unique = new Map(refs.map((r) => [`${r.partnerId}/${r.clientId}`, { partnerId: r.partnerId, clientId: r.clientId }]));
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

/**
 * Every pointer item the given partners imply: one APIKEY per key, one ISSUER per JWT issuer and
 * one ORIGIN per CORS origin (each listing every client that has it). The writer computes this for
 * the whole store after a change, writes what differs and deletes pointer items no longer implied.
 * Disabled clients and partners keep their pointers: the reader checks the flags in the partner item.
 */
export function pointerItemsFor(partners: ReadonlyMap<string, Partner>): PointerItem[] {
  const apiKeys: ApiKeyItem[] = [];
  const issuers = new Map<string, ClientRef[]>();
  const origins = new Map<string, ClientRef[]>();
  const add = (map: Map<string, ClientRef[]>, k: string, ref: ClientRef) => map.set(k, [...(map.get(k) ?? []), ref]);
  for (const [pid, partner] of partners) {
    for (const [cid, client] of Object.entries(partner.clients)) {
      const ref = { partnerId: pid, clientId: cid };
      for (const apiKey of client.apiKeys ?? []) apiKeys.push(encodeApiKeyItem(apiKey.id, ref));
      if (client.jwt) add(issuers, client.jwt.issuer, ref);
      for (const origin of client.cors.origins) add(origins, origin, ref);
    }
  }
  return [
    ...apiKeys,
    ...[...issuers].map(([issuer, refs]) => encodeIssuerItem(issuer, refs)),
    ...[...origins].map(([origin, refs]) => encodeOriginItem(origin, refs)),
  ];
}

// ---- meta and audit items ----

export function encodeVersionItem(version: number, updatedAt: Date): VersionItem {
  const item: VersionItem = { pk: VERSION_PK, kind: 'version', version, updatedAt: updatedAt.toISOString() };
  const checked = decodeWith(versionItemSchema, item, VERSION_PK, constantPk(VERSION_PK));
  if (!checked.ok) throw new InvalidItemError(`version item: ${checked.reason}`);
  return item;
}

export function decodeVersionItem(raw: unknown): Decoded<VersionItem> {
  return decodeWith(versionItemSchema, raw, VERSION_PK, constantPk(VERSION_PK));
}

export function encodeLockItem(owner: string, expiresAt: number): LockItem {
  const item: LockItem = { pk: LOCK_PK, kind: 'lock', owner, expiresAt };
  const checked = decodeWith(lockItemSchema, item, LOCK_PK, constantPk(LOCK_PK));
  if (!checked.ok) throw new InvalidItemError(`lock item: ${checked.reason}`);
  return item;
}

export function decodeLockItem(raw: unknown): Decoded<LockItem> {
  return decodeWith(lockItemSchema, raw, LOCK_PK, constantPk(LOCK_PK));
}

export interface AuditEntry {
  at: Date;
  by: string;
  action: string;
  target: string;
  reason?: string | undefined;
  /** Never secrets; keep API key hashes out too (strip them before passing). */
  before?: unknown;
  after?: unknown;
}

export function encodeAuditItem(entry: AuditEntry, random: string): AuditItem {
  const item = toJsonData({
    pk: auditKey(entry.at, random),
    kind: 'audit',
    at: entry.at.toISOString(),
    by: entry.by,
    action: entry.action,
    target: entry.target,
    reason: entry.reason,
    before: entry.before,
    after: entry.after,
  });
  const parsed = auditItemSchema.safeParse(item);
  if (!parsed.success) throw new InvalidItemError(`audit item: ${refuse(parsed.error.issues).reason}`);
  return parsed.data;
}

export function decodeAuditItem(raw: unknown): Decoded<AuditItem> {
  const parsed = auditItemSchema.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : refuse(parsed.error.issues);
}
