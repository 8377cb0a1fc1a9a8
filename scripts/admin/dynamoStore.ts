/**
 * The admin writer for the DynamoDB grant table (item shapes: src/adapters/dynamo/items.ts). Runs
 * with the operator's own AWS credentials; the broker's functions can only read the table.
 *
 * DynamoDB-compatible local servers (dynalite) have no transactions, so one write is:
 * 1. take the lease `META#lock` with a conditional PutItem (`attribute_not_exists(pk) OR expiresAt < :now`);
 * 2. read the version item and Scan the partner and pointer items (a Scan is fine here, never on the
 *    broker's request path), let the command compute its change on that, validate every partner
 *    item and the whole store (schema, cross-field rules, whole-store invariants);
 * 3. claim the version: `version` v → v+1 conditional on v. Should a lease ever be broken (a writer
 *    paused past it), only one of two writers gets past this compare-and-swap: the other has
 *    written nothing and says so;
 * 4. write the changed PARTNER items and the pointer items that differ, delete orphaned pointers;
 * 5. bump the version v+1 → v+2 (conditional): readers flush on a version change, and this bump
 *    comes after every item write, so no reader keeps a half-written state past its staleness bound;
 * 6. write the AUDIT item (who, what, when, why; key hashes stripped) and release the lease
 *    (conditional on being its owner).
 * Readers re-check every pointer in its partner item, so the order of step 4 never widens a grant.
 */
import { randomBytes } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  AUDIT_PREFIX, decodeApiKeyItem, decodeIssuerItem, decodeOriginItem, decodePartnerItem, decodeVersionItem, encodeAuditItem,
  encodeLockItem, encodePartnerItem, encodeVersionItem, LOCK_PK, PARTNER_PREFIX, pointerItemsFor, VERSION_PK, type PointerItem,
} from '../../src/adapters/dynamo/items.js';
import { partnersOf } from '../../src/config/load.js';
import { applyOps, AdminError, ConflictError, redactPartner, touchedPartners, validateOrThrow, type AdminStore, type Change, type Committed, type Snapshot } from './store.js';

/** How long a writer may hold the table lease; a write takes well under a second. */
export const LOCK_LEASE_MS = 30_000;

export interface DynamoAdminStoreOptions {
  client: Pick<DynamoDBDocumentClient, 'send'> & { destroy?: () => void };
  table: string;
  /** Who is writing (STS GetCallerIdentity ARN); asked lazily, once. */
  identity: () => Promise<string>;
  /** The deployment's allowInsecureLoopbackHttp (the table does not hold it). */
  allowInsecureLoopbackHttp: boolean;
  clock?: () => number;
  /** Test hook: runs between the reads and the version claim (to line up two writers). */
  beforeClaim?: () => Promise<void>;
}

/** Every item except audit records, as stored (partners raw, pointers raw), and the version. */
interface TableState {
  version: number;
  partnerItems: Map<string, Record<string, any>>;
  pointers: Map<string, Record<string, any>>;
  invalid: Array<{ pk: string; reason: string }>;
}

const POINTER_PREFIXES = ['APIKEY#', 'ISSUER#', 'ORIGIN#'];

export class DynamoAdminStore implements AdminStore {
  readonly name: string;
  #by: string | undefined;

  constructor(private readonly options: DynamoAdminStoreOptions) {
    this.name = `dynamodb:${options.table}`;
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  get allowInsecureLoopbackHttp(): boolean {
    return this.options.allowInsecureLoopbackHttp;
  }

  async by(): Promise<string> {
    this.#by ??= await this.options.identity();
    return this.#by;
  }

  /** Reads every non-audit item (Scan, strongly consistent, all pages). */
  async state(): Promise<TableState> {
    const state: TableState = { version: 0, partnerItems: new Map(), pointers: new Map(), invalid: [] };
    let start: Record<string, any> | undefined;
    do {
      const page = await this.options.client.send(new ScanCommand({
        TableName: this.options.table,
        ConsistentRead: true,
        FilterExpression: 'NOT begins_with(pk, :audit)',
        ExpressionAttributeValues: { ':audit': AUDIT_PREFIX },
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }));
      for (const item of page.Items ?? []) {
        const pk = String(item.pk);
        if (pk === VERSION_PK) {
          const v = decodeVersionItem(item);
          if (v.ok) state.version = v.value.version;
          else state.invalid.push({ pk, reason: v.reason });
        } else if (pk.startsWith(PARTNER_PREFIX)) {
          const id = pk.slice(PARTNER_PREFIX.length);
          const decoded = decodePartnerItem(id, item);
          if (decoded.ok) state.partnerItems.set(id, item);
          else state.invalid.push({ pk, reason: decoded.reason });
        } else if (POINTER_PREFIXES.some((p) => pk.startsWith(p))) {
          state.pointers.set(pk, item);
        }
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return state;
  }

  async read(): Promise<Snapshot> {
    const state = await this.state();
    if (state.invalid.length > 0) {
      throw new AdminError(`the table holds invalid items (run admin check): ${state.invalid.map((i) => `${i.pk}: ${i.reason}`).join('; ')}`);
    }
    return {
      allowInsecureLoopbackHttp: this.options.allowInsecureLoopbackHttp,
      partners: Object.fromEntries([...state.partnerItems].map(([id, item]) => [id, item.partner as Record<string, any>])),
      version: String(state.version),
    };
  }

  async commit(plan: (current: Snapshot) => Change): Promise<Committed> {
    const by = await this.by();
    const owner = `${by}#${randomBytes(6).toString('hex')}`;
    await this.acquire(owner);
    try {
      const state = await this.state();
      if (state.invalid.length > 0) {
        throw new AdminError(`the table holds invalid items; nothing was written (run admin check): ${state.invalid.map((i) => `${i.pk}: ${i.reason}`).join('; ')}`);
      }
      const before: Snapshot = {
        allowInsecureLoopbackHttp: this.options.allowInsecureLoopbackHttp,
        partners: Object.fromEntries([...state.partnerItems].map(([id, item]) => [id, item.partner as Record<string, any>])),
        version: String(state.version),
      };
      const change = plan(before);
      const afterRoot = applyOps({ allowInsecureLoopbackHttp: before.allowInsecureLoopbackHttp, partners: before.partners }, change.ops);
      const valid = validateOrThrow(afterRoot, `${change.action} ${change.target}`);
      const at = new Date(this.now());
      const touched = touchedPartners(change.ops);
      const partners = partnersOf(valid);
      // Encode everything first: an item the encoder refuses stops the write before anything is written.
      const partnerPuts = touched.filter((id) => partners.has(id)).map((id) =>
        encodePartnerItem(id, partners.get(id)!, { updatedAt: at, updatedBy: by, reason: change.reason }));
      const partnerDeletes = touched.filter((id) => !partners.has(id));
      const wanted = new Map(pointerItemsFor(partners).map((p): [string, PointerItem] => [p.pk, p]));
      const pointerPuts = [...wanted.values()].filter((p) => JSON.stringify(state.pointers.get(p.pk) ?? null) !== JSON.stringify(p));
      const pointerDeletes = [...state.pointers.keys()].filter((pk) => !wanted.has(pk));
      const audit = encodeAuditItem({
        at, by, action: change.action, target: change.target, reason: change.reason,
        before: Object.fromEntries(touched.map((p) => [p, redactPartner(before.partners[p]) ?? null])),
        after: Object.fromEntries(touched.map((p) => [p, redactPartner(afterRoot.partners[p]) ?? null])),
      }, randomBytes(6).toString('hex'));

      await this.options.beforeClaim?.();
      await this.bumpVersion(state.version, state.version + 1, at);
      for (const item of pointerPuts) await this.put(item);
      for (const item of partnerPuts) await this.put(item);
      for (const id of partnerDeletes) await this.delete(`${PARTNER_PREFIX}${id}`);
      for (const pk of pointerDeletes) await this.delete(pk);
      await this.bumpVersion(state.version + 1, state.version + 2, at);
      await this.put(audit);
      return { change, version: String(state.version + 2), by, at: at.toISOString() };
    } finally {
      await this.release(owner);
    }
  }

  async close(): Promise<void> {
    this.options.client.destroy?.();
  }

  private async acquire(owner: string): Promise<void> {
    const now = this.now();
    try {
      await this.options.client.send(new PutCommand({
        TableName: this.options.table,
        Item: encodeLockItem(owner, now + LOCK_LEASE_MS),
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
        ExpressionAttributeValues: { ':now': now },
      }));
    } catch (err) {
      if (!isConditionFailed(err)) throw storeError('take the write lock', err);
      const held = await this.options.client.send(new GetCommand({ TableName: this.options.table, Key: { pk: LOCK_PK }, ConsistentRead: true }));
      const holder = typeof held.Item?.owner === 'string' ? held.Item.owner.split('#')[0] : 'another writer';
      const until = typeof held.Item?.expiresAt === 'number' ? ` until ${new Date(held.Item.expiresAt).toISOString()}` : '';
      throw new ConflictError(`another write holds the lock (${holder}${until}): nothing was written; retry shortly`);
    }
  }

  private async release(owner: string): Promise<void> {
    try {
      await this.options.client.send(new DeleteCommand({
        TableName: this.options.table, Key: { pk: LOCK_PK },
        ConditionExpression: '#owner = :owner', ExpressionAttributeNames: { '#owner': 'owner' }, ExpressionAttributeValues: { ':owner': owner },
      }));
    } catch (err) {
      // Not ours any more (lease expired and taken over): the other writer releases it.
      if (!isConditionFailed(err)) throw storeError('release the write lock', err);
    }
  }

  private async bumpVersion(from: number, to: number, at: Date): Promise<void> {
    try {
      await this.options.client.send(new PutCommand({
        TableName: this.options.table,
        Item: encodeVersionItem(to, at),
        ...(from === 0
          ? { ConditionExpression: 'attribute_not_exists(pk) OR version = :from', ExpressionAttributeValues: { ':from': 0 } }
          : { ConditionExpression: 'version = :from', ExpressionAttributeValues: { ':from': from } }),
      }));
    } catch (err) {
      if (!isConditionFailed(err)) throw storeError('update the version item', err);
      throw new ConflictError(`the store's version changed since it was read (expected ${from}): another writer committed first`
        + (to % 2 === 1 ? '; nothing was written, run the command again' : '; this write\'s items may be mixed with theirs: run admin check'));
    }
  }

  private async put(item: Record<string, unknown>): Promise<void> {
    try {
      await this.options.client.send(new PutCommand({ TableName: this.options.table, Item: item }));
    } catch (err) {
      throw storeError(`write ${String(item.pk)}`, err);
    }
  }

  private async delete(pk: string): Promise<void> {
    try {
      await this.options.client.send(new DeleteCommand({ TableName: this.options.table, Key: { pk } }));
    } catch (err) {
      throw storeError(`delete ${pk}`, err);
    }
  }
}

function isConditionFailed(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

function storeError(what: string, err: unknown): AdminError {
  const e = err as { name?: string; message?: string };
  return new AdminError(`cannot ${what} in the grant table: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
}

/** Pointer decoders, re-exported for `admin check`. */
export const pointerDecoders = { decodeApiKeyItem, decodeIssuerItem, decodeOriginItem };
