/**
 * What the admin commands edit, whichever store holds it: a snapshot of the grants (the config's
 * `partners` as plain JSON, exactly as YAML holds them) and a change expressed as path operations
 * on it. The same operations drive both writers: the YAML writer applies them to the yaml Document
 * (so comments and formatting survive), the DynamoDB writer to the partner items.
 *
 * Every change is validated before it is written: each partner with the config schema and the whole
 * store with the cross-field rules and whole-store invariants the broker enforces at cold start
 * (config/crossChecks.ts, which runs rules/storeInvariants.ts).
 */
import { crossCheckFindings } from '../../src/config/crossChecks.js';
import { configSchema, type BrokerConfig } from '../../src/config/schema.js';
import type { ConfigIssue } from '../../src/rules/issues.js';

export type PathKey = string | number;
export type PathOp = { op: 'set'; path: PathKey[]; value: unknown } | { op: 'delete'; path: PathKey[] };

/** The store's grants as plain JSON (ISO strings, no Dates), keyed like the YAML file. */
export interface Snapshot {
  allowInsecureLoopbackHttp: boolean;
  partners: Record<string, Record<string, any>>;
  /** The store's version as it was read (YAML: a content hash; DynamoDB: META#version). */
  version: string;
}

/** One admin write: what to change, and what the audit record says about it. */
export interface Change {
  action: string;
  /** What was changed, e.g. `acme/app/key:K1`. */
  target: string;
  reason?: string | undefined;
  /** Relative to the config root: `['partners', 'acme', 'clients', 'app', 'disabled']`. */
  ops: PathOp[];
  /** Extra fields for the command's output (never a secret; the new key is printed by the command). */
  result?: Record<string, unknown>;
}

export interface Committed {
  change: Change;
  /** The store's version after the write. */
  version: string;
  /** Who made it: the operator's AWS identity ARN (DynamoDB) or `os-user:<name>@<host>` (YAML). */
  by: string;
  at: string;
}

/** A command's change could not be made (bad input against the current store): exit 1 with the message. */
export class AdminError extends Error {}

/** Another writer holds the lock or committed first: nothing was written. */
export class ConflictError extends AdminError {}

export interface AdminStore {
  /** `yaml:<file>` or `dynamodb:<table>`, for messages. */
  readonly name: string;
  /** Who writes: recorded in the audit entry and in a revocation's `by`. */
  by(): Promise<string>;
  read(): Promise<Snapshot>;
  /**
   * Under the store's lock: reads the current grants, asks `plan` for the change (so it is computed
   * on what is really there), validates the result as a whole, writes it, records the audit entry
   * and releases the lock. Throws AdminError (the change is invalid) or ConflictError.
   */
  commit(plan: (current: Snapshot) => Change): Promise<Committed>;
  close(): Promise<void>;
}

/** A deep copy of plain JSON data. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Applies `ops` to a copy of `root` (plain JSON): intermediate objects are created as needed. */
export function applyOps<T extends Record<string, any>>(root: T, ops: readonly PathOp[]): T {
  const out = clone(root);
  for (const op of ops) {
    if (op.path.length === 0) throw new TypeError('an operation needs a path');
    let node: any = out;
    for (const key of op.path.slice(0, -1)) {
      if (node[key] === undefined || node[key] === null || typeof node[key] !== 'object') {
        if (op.op === 'delete') { node = undefined; break; }
        node[key] = {};
      }
      node = node[key];
    }
    if (node === undefined) continue;
    const last = op.path[op.path.length - 1]!;
    if (op.op === 'set') node[last] = clone(op.value);
    else if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
    else delete node[last];
  }
  return out;
}

/** Every finding that refuses this config (schema, cross-field rules, whole-store invariants). */
export function configIssues(config: { allowInsecureLoopbackHttp: boolean; partners: Record<string, unknown> }): { issues: ConfigIssue[]; notices: ConfigIssue[]; config?: BrokerConfig } {
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) {
    return { issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message })), notices: [] };
  }
  const findings = crossCheckFindings(parsed.data);
  return findings.issues.length > 0 ? findings : { ...findings, config: parsed.data };
}

/** Throws AdminError naming every issue when the config after `change` would be invalid. */
export function validateOrThrow(config: { allowInsecureLoopbackHttp: boolean; partners: Record<string, unknown> }, what: string): BrokerConfig {
  const { issues, config: valid } = configIssues(config);
  if (valid === undefined) {
    throw new AdminError(`refused: ${what} would make the grants invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
  return valid;
}

/** The partner ids a set of operations touches (`['partners', <id>, ...]`). */
export function touchedPartners(ops: readonly PathOp[]): string[] {
  return [...new Set(ops.filter((o) => o.path[0] === 'partners' && typeof o.path[1] === 'string').map((o) => o.path[1] as string))];
}

/** Strips key hashes from a partner for audit records and output (they are not secrets, but stay out anyway). */
export function redactPartner(partner: unknown): unknown {
  if (partner === undefined) return undefined;
  const copy = clone(partner) as Record<string, any>;
  for (const client of Object.values((copy.clients ?? {}) as Record<string, any>)) {
    if (Array.isArray(client.apiKeys)) client.apiKeys = client.apiKeys.map(({ sha256: _h, ...rest }: Record<string, unknown>) => rest);
  }
  return copy;
}
