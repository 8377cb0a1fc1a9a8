/**
 * The admin commands as plans: each takes the store's current grants (a Snapshot read under the
 * lock) and returns the Change to make, or throws AdminError with what is wrong. No I/O here, so
 * the YAML and DynamoDB writers run exactly the same logic, and tests call these directly.
 */
import { randomBytes } from 'node:crypto';
import { generateApiKey, type GeneratedApiKey } from '../../src/auth/apiKey.js';
import type { Revocation } from '../../src/domain/model.js';
import { BASE32_ALPHABET } from '../../src/rules/identifiers.js';
import { pruneRevocations } from '../../src/rules/revocation.js';
import { AdminError, type Change, type PathOp, type Snapshot } from './store.js';

type Json = Record<string, any>;

export function partnerOf(snap: Snapshot, partnerId: string): Json {
  const partner = Object.hasOwn(snap.partners, partnerId) ? snap.partners[partnerId] : undefined;
  if (partner === undefined) throw new AdminError(`no partner "${partnerId}" in the store (partners: ${Object.keys(snap.partners).join(', ') || 'none'})`);
  return partner;
}

export function clientOf(snap: Snapshot, partnerId: string, clientId: string): Json {
  const partner = partnerOf(snap, partnerId);
  const clients = (partner.clients ?? {}) as Json;
  if (!Object.hasOwn(clients, clientId)) throw new AdminError(`no client "${clientId}" under partner "${partnerId}" (clients: ${Object.keys(clients).join(', ')})`);
  return clients[clientId] as Json;
}

/** Where an API key id lives: partner, client and its index in the client's apiKeys list. */
export function findKey(snap: Snapshot, keyId: string): { partnerId: string; clientId: string; index: number; key: Json } {
  for (const [partnerId, partner] of Object.entries(snap.partners)) {
    for (const [clientId, client] of Object.entries((partner.clients ?? {}) as Record<string, Json>)) {
      const index = ((client.apiKeys ?? []) as Json[]).findIndex((k) => k.id === keyId);
      if (index >= 0) return { partnerId, clientId, index, key: client.apiKeys[index] as Json };
    }
  }
  throw new AdminError(`no API key with id "${keyId}" in the store`);
}

const clientPath = (p: string, c: string) => ['partners', p, 'clients', c];

/**
 * A new ExternalId for a partner's trust policy: random (AWS advises the third party to generate
 * it, unique per customer) and unguessable, 32 base32 characters after a readable head.
 */
export function newExternalId(partnerId: string, taken: ReadonlySet<string>): string {
  for (;;) {
    const id = `sts-broker-${partnerId}-${Array.from(randomBytes(32), (b) => BASE32_ALPHABET[b & 31]).join('')}`;
    if (!taken.has(id)) return id;
  }
}

/** The set (or deletion) of one field; `undefined` deletes it. */
function field(path: (string | number)[], value: unknown): PathOp {
  return value === undefined ? { op: 'delete', path } : { op: 'set', path, value };
}

// ---- partners ----

export interface PartnerFields {
  roleArn: string;
  bucket: string;
  region: string;
  externalId?: string | undefined;
  maxDurationSeconds?: number | undefined;
  stsEndpoint?: string | undefined;
  s3Endpoint?: string | undefined;
}

/** `partner add`: the partner with its first client (a partner needs one); a new ExternalId unless given. */
export function partnerAdd(snap: Snapshot, partnerId: string, fields: PartnerFields, clientId: string, client: Json, reason?: string): Change & { externalId: string } {
  if (Object.hasOwn(snap.partners, partnerId)) throw new AdminError(`partner "${partnerId}" already exists (use partner show / client add)`);
  const taken = new Set(Object.values(snap.partners).map((p) => p.externalId as string | undefined).filter((x): x is string => x !== undefined));
  if (fields.externalId !== undefined && taken.has(fields.externalId)) throw new AdminError('that ExternalId is already used by another partner: each partner needs its own');
  const externalId = fields.externalId ?? newExternalId(partnerId, taken);
  const partner = Object.fromEntries(Object.entries({ ...fields, externalId, clients: { [clientId]: client } }).filter(([, v]) => v !== undefined));
  return { action: 'partner.add', target: partnerId, reason, ops: [{ op: 'set', path: ['partners', partnerId], value: partner }], externalId };
}

export function partnerSetDisabled(snap: Snapshot, partnerId: string, disabled: boolean, reason?: string): Change {
  partnerOf(snap, partnerId);
  return { action: disabled ? 'partner.disable' : 'partner.enable', target: partnerId, reason, ops: [field(['partners', partnerId, 'disabled'], disabled ? true : undefined)] };
}

// ---- clients ----

export function clientAdd(snap: Snapshot, partnerId: string, clientId: string, client: Json, reason?: string): Change {
  const partner = partnerOf(snap, partnerId);
  if (Object.hasOwn(partner.clients ?? {}, clientId)) throw new AdminError(`client "${partnerId}/${clientId}" already exists (use client update)`);
  return { action: 'client.add', target: `${partnerId}/${clientId}`, reason, ops: [{ op: 'set', path: clientPath(partnerId, clientId), value: client }] };
}

/** `client update`: only the given fields change (undefined = unchanged; `null` = remove an optional field). */
export function clientUpdate(snap: Snapshot, partnerId: string, clientId: string, fields: Json, reason?: string): Change {
  clientOf(snap, partnerId, clientId);
  const ops = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => field([...clientPath(partnerId, clientId), k], v === null ? undefined : v));
  if (ops.length === 0) throw new AdminError('nothing to update: give at least one field option');
  return { action: 'client.update', target: `${partnerId}/${clientId}`, reason, ops };
}

export function clientSetDisabled(snap: Snapshot, partnerId: string, clientId: string, disabled: boolean, reason?: string): Change {
  clientOf(snap, partnerId, clientId);
  return { action: disabled ? 'client.disable' : 'client.enable', target: `${partnerId}/${clientId}`, reason, ops: [field([...clientPath(partnerId, clientId), 'disabled'], disabled ? true : undefined)] };
}

// ---- API keys ----

/** `key create`: a new key for an API-key client. The plaintext key is returned for printing once, never stored. */
export function keyCreate(snap: Snapshot, partnerId: string, clientId: string, options: { expires?: string; reason?: string; generated?: GeneratedApiKey } = {}): Change & { key: GeneratedApiKey } {
  const client = clientOf(snap, partnerId, clientId);
  if (!Array.isArray(client.apiKeys)) throw new AdminError(`client ${partnerId}/${clientId} authenticates with JWT, not API keys`);
  const taken = new Set(Object.values(snap.partners).flatMap((p) => Object.values((p.clients ?? {}) as Record<string, Json>)).flatMap((c) => ((c.apiKeys ?? []) as Json[]).map((k) => k.id as string)));
  if (options.generated !== undefined && taken.has(options.generated.id)) throw new AdminError(`API key id "${options.generated.id}" is already in use`);
  let generated = options.generated ?? generateApiKey();
  // 60 random bits: a collision is astronomically unlikely, but ids must be unique, so draw again.
  while (taken.has(generated.id)) generated = generateApiKey();
  const entry = { id: generated.id, sha256: generated.sha256, ...(options.expires === undefined ? {} : { expires: options.expires }) };
  return {
    action: 'key.create', target: `${partnerId}/${clientId}/key:${generated.id}`, reason: options.reason,
    ops: [{ op: 'set', path: [...clientPath(partnerId, clientId), 'apiKeys', client.apiKeys.length], value: entry }],
    key: generated, result: { keyId: generated.id },
  };
}

export function keySetDisabled(snap: Snapshot, keyId: string, disabled: boolean, reason?: string): Change {
  const { partnerId, clientId, index } = findKey(snap, keyId);
  return {
    action: disabled ? 'key.disable' : 'key.enable', target: `${partnerId}/${clientId}/key:${keyId}`, reason,
    ops: [field([...clientPath(partnerId, clientId), 'apiKeys', index, 'disabled'], disabled ? true : undefined)],
  };
}

/** `key rotate --grace`: a new key for the same client; the old one `expires` at now + grace (never extended). */
export function keyRotate(snap: Snapshot, keyId: string, graceSeconds: number, now: number, reason?: string): Change & { key: GeneratedApiKey; oldExpires: string } {
  const { partnerId, clientId, index, key } = findKey(snap, keyId);
  if (key.disabled === true) throw new AdminError(`API key "${keyId}" is disabled: create a new key instead of rotating a disabled one`);
  const wanted = now + graceSeconds * 1000;
  const current = key.expires === undefined ? undefined : Date.parse(String(key.expires));
  const expires = new Date(current !== undefined && current < wanted ? current : wanted).toISOString();
  const created = keyCreate(snap, partnerId, clientId, reason === undefined ? {} : { reason });
  return {
    action: 'key.rotate', target: `${partnerId}/${clientId}/key:${keyId}`, reason,
    ops: [...created.ops, { op: 'set', path: [...clientPath(partnerId, clientId), 'apiKeys', index, 'expires'], value: expires }],
    key: created.key, oldExpires: expires, result: { oldKeyId: keyId, oldKeyExpires: expires, keyId: created.key.id },
  };
}

export function keyDelete(snap: Snapshot, keyId: string, reason?: string): Change {
  const { partnerId, clientId, index } = findKey(snap, keyId);
  const client = clientOf(snap, partnerId, clientId);
  if ((client.apiKeys as Json[]).length === 1) throw new AdminError(`"${keyId}" is the only key of ${partnerId}/${clientId}: create its replacement first (or disable the client)`);
  return { action: 'key.delete', target: `${partnerId}/${clientId}/key:${keyId}`, reason, ops: [{ op: 'delete', path: [...clientPath(partnerId, clientId), 'apiKeys', index] }] };
}

// ---- revocation ----

export type RevokeTarget = Revocation['target'];

/** The target named by `revoke` options, checked against the store. */
export function revokeTarget(snap: Snapshot, partnerId: string, opts: { client?: string; key?: string; subject?: string }): RevokeTarget {
  partnerOf(snap, partnerId);
  if (opts.key !== undefined) {
    const found = findKey(snap, opts.key);
    if (found.partnerId !== partnerId) throw new AdminError(`API key "${opts.key}" belongs to partner "${found.partnerId}", not "${partnerId}"`);
    if (opts.client !== undefined && opts.client !== found.clientId) throw new AdminError(`API key "${opts.key}" belongs to client "${found.clientId}", not "${opts.client}"`);
    return { kind: 'key', clientId: found.clientId, keyId: opts.key };
  }
  if (opts.subject !== undefined) {
    if (opts.client === undefined) throw new AdminError('--subject needs --client <client>: a subject is one client\'s user');
    clientOf(snap, partnerId, opts.client);
    return { kind: 'subject', clientId: opts.client, subject: opts.subject };
  }
  if (opts.client !== undefined) {
    clientOf(snap, partnerId, opts.client);
    return { kind: 'client', clientId: opts.client };
  }
  return { kind: 'partner' };
}

export function describeTarget(partnerId: string, t: RevokeTarget): string {
  switch (t.kind) {
    case 'partner': return partnerId;
    case 'client': return `${partnerId}/${t.clientId}`;
    case 'key': return `${partnerId}/${t.clientId}/key:${t.keyId}`;
    case 'subject': return `${partnerId}/${t.clientId}/subject:${JSON.stringify(t.subject)}`;
  }
}

const sameTarget = (a: RevokeTarget, b: RevokeTarget) => JSON.stringify(a) === JSON.stringify(b);

/**
 * `revoke`: appends an active revocation at `now` (second precision, as IAM's aws:TokenIssueTime
 * compares), pruning entries no longer needed. `--lift`: marks the target's active entries lifted
 * (kept until pruned: the broker keeps refusing sessions cached before them).
 */
export function revoke(snap: Snapshot, partnerId: string, target: RevokeTarget, options: { now: number; by: string; reason?: string; lift?: boolean }): Change & { revocation?: Revocation } {
  const partner = partnerOf(snap, partnerId);
  const kept = pruneRevocations({ revocations: (partner.revocations ?? []) as Revocation[], maxDurationSeconds: partner.maxDurationSeconds ?? 900 }, options.now);
  const what = describeTarget(partnerId, target);
  if (options.lift === true) {
    if (!kept.some((r) => r.active && sameTarget(r.target, target))) throw new AdminError(`no active revocation of ${what} to lift`);
    const next = kept.map((r) => (r.active && sameTarget(r.target, target) ? { ...r, active: false } : r));
    return { action: 'revoke.lift', target: what, reason: options.reason, ops: [{ op: 'set', path: ['partners', partnerId, 'revocations'], value: next }] };
  }
  // Rounded UP to the second: a session issued in the same second as the revocation counts as before it.
  const at = new Date(Math.ceil(options.now / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
  const revocation: Revocation = { target, at, active: true, ...(options.reason === undefined ? {} : { reason: options.reason }), by: options.by };
  return {
    action: 'revoke', target: what, reason: options.reason,
    ops: [{ op: 'set', path: ['partners', partnerId, 'revocations'], value: [...kept, revocation] }],
    revocation, result: { at },
  };
}

// ---- import ----

/** `import`: the store's partners become exactly `partners` (added, replaced, removed). */
export function importPartners(snap: Snapshot, partners: Record<string, Json>, reason?: string): Change {
  const ops: PathOp[] = [
    ...Object.keys(snap.partners).filter((id) => !Object.hasOwn(partners, id)).map((id): PathOp => ({ op: 'delete', path: ['partners', id] })),
    ...Object.entries(partners)
      .filter(([id, p]) => JSON.stringify(snap.partners[id] ?? null) !== JSON.stringify(p))
      .map(([id, p]): PathOp => ({ op: 'set', path: ['partners', id], value: p })),
  ];
  return { action: 'import', target: `${Object.keys(partners).length} partners`, reason, ops, result: { changedPartners: ops.length } };
}

/** `--grace 90s|15m|24h|7d` in seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,7})(s|m|h|d)$/.exec(text);
  if (!m) throw new AdminError(`invalid duration "${text}": a number and a unit, like 90s, 15m, 24h or 7d`);
  const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  if (seconds > 90 * 86_400) throw new AdminError(`duration "${text}" is longer than 90 days`);
  return seconds;
}
