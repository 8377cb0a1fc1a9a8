/**
 * The admin writer for the YAML config file. Edits go through yaml's Document API (setIn/deleteIn on
 * the parsed document), so comments, key order, quoting and flow/block style of everything not
 * changed stay exactly as they were. The whole edited text is checked exactly as the broker checks
 * it at cold start (config/load.ts checkConfigText) before it replaces the file.
 *
 * Lock: `<file>.lock`, created exclusively (O_EXCL) with a lease; a lock older than its lease is
 * taken over (its writer died). The file is replaced atomically (write a sibling, then rename).
 * Audit: one JSON line per write appended to `<file>.audit.jsonl` (mode 0600): who (the OS user and
 * host), what, when and why. Key hashes never go into it.
 */
import { appendFileSync, chmodSync, closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { isCollection, isMap, isSeq, parseDocument, type Document } from 'yaml';
import { checkConfigText } from '../../src/config/load.js';
import { AdminError, ConflictError, redactPartner, touchedPartners, type AdminStore, type Change, type Committed, type Snapshot } from './store.js';

/** Stringify options that reproduce a hand-written config's style for untouched nodes. */
const KEEP_STYLE = { flowCollectionPadding: false, lineWidth: 0 } as const;

/** How long a writer may hold the file lock before another may take it over. */
export const YAML_LOCK_LEASE_MS = 30_000;

export function osUser(): string {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER ?? 'unknown';
  }
  return `os-user:${name}@${hostname()}`;
}

export class YamlAdminStore implements AdminStore {
  readonly name: string;

  constructor(readonly file: string, private readonly options: { by?: string; clock?: () => number } = {}) {
    this.name = `yaml:${file}`;
  }

  async by(): Promise<string> {
    return this.options.by ?? osUser();
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  private text(): string {
    try {
      return readFileSync(this.file, 'utf8');
    } catch (err) {
      throw new AdminError(`cannot read ${this.file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }

  async read(): Promise<Snapshot> {
    const text = this.text();
    const check = checkConfigText(text);
    if (check.config === undefined) {
      throw new AdminError(`${this.file} is invalid; fix it first (npm run check-config -- ${this.file}): ${check.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    }
    const raw = parseDocument(text).toJS() as { allowInsecureLoopbackHttp?: boolean; partners: Record<string, Record<string, any>> };
    return {
      allowInsecureLoopbackHttp: raw.allowInsecureLoopbackHttp === true,
      partners: JSON.parse(JSON.stringify(raw.partners)) as Snapshot['partners'],
      version: createHash('sha256').update(text).digest('hex').slice(0, 16),
    };
  }

  async commit(plan: (current: Snapshot) => Change): Promise<Committed> {
    const lock = `${this.file}.lock`;
    const owner = `${osUser()}#${process.pid}#${randomBytes(4).toString('hex')}`;
    this.acquire(lock, owner);
    try {
      const before = await this.read();
      const change = plan(before);
      const text = this.text();
      const doc = parseDocument(text);
      for (const op of change.ops) applyToDocument(doc, op);
      // yaml's defaults pad flow collections (`[ a ]`) and fold long lines: keep the file's own style.
      const edited = restoreStyle(text, doc.toString(KEEP_STYLE));
      const check = checkConfigText(edited);
      if (check.config === undefined) {
        throw new AdminError(`refused: ${change.action} ${change.target} would make the config invalid: ${check.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
      }
      // The lock is ours unless our lease ran out and another writer took it: then write nothing.
      if (this.lockOwner(lock) !== owner) throw new ConflictError('the config lock was taken over by another writer (our lease expired): nothing was written; run the command again');
      const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      const mode = statSync(this.file).mode & 0o777;
      const fd = openSync(tmp, 'wx', mode);
      try {
        writeSync(fd, edited);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
      const at = new Date(this.now()).toISOString();
      const by = this.options.by ?? osUser();
      const after = parseDocument(edited).toJS() as { partners: Record<string, unknown> };
      const touched = touchedPartners(change.ops);
      this.audit({
        at, by, action: change.action, target: change.target, ...(change.reason === undefined ? {} : { reason: change.reason }),
        before: Object.fromEntries(touched.map((p) => [p, redactPartner(before.partners[p]) ?? null])),
        after: Object.fromEntries(touched.map((p) => [p, redactPartner(after.partners[p]) ?? null])),
      });
      return { change, version: createHash('sha256').update(edited).digest('hex').slice(0, 16), by, at };
    } finally {
      if (this.lockOwner(lock) === owner) rmSync(lock, { force: true });
    }
  }

  async close(): Promise<void> {}

  private acquire(lock: string, owner: string): void {
    const record = JSON.stringify({ owner, expiresAt: this.now() + YAML_LOCK_LEASE_MS });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        const fd = openSync(lock, 'wx', 0o600);
        try {
          writeSync(fd, record);
        } finally {
          closeSync(fd);
        }
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new AdminError(`cannot create the lock ${lock}: ${(err as Error).message}`);
        const held = this.readLock(lock);
        if (held !== undefined && held.expiresAt > this.now()) {
          throw new ConflictError(`another write holds the lock ${lock} (${held.owner.split('#')[0]}, until ${new Date(held.expiresAt).toISOString()}): nothing was written; retry shortly`);
        }
        // Expired (or unreadable): its writer died. Remove and try once more; a racing writer loses on O_EXCL.
        rmSync(lock, { force: true });
      }
    }
    throw new ConflictError(`another write took the lock ${lock} first: nothing was written; retry`);
  }

  private readLock(lock: string): { owner: string; expiresAt: number } | undefined {
    try {
      const parsed = JSON.parse(readFileSync(lock, 'utf8')) as { owner?: unknown; expiresAt?: unknown };
      return typeof parsed.owner === 'string' && typeof parsed.expiresAt === 'number' ? { owner: parsed.owner, expiresAt: parsed.expiresAt } : undefined;
    } catch {
      return undefined;
    }
  }

  private lockOwner(lock: string): string | undefined {
    return existsSync(lock) ? this.readLock(lock)?.owner : undefined;
  }

  private audit(entry: Record<string, unknown>): void {
    const path = `${this.file}.audit.jsonl`;
    appendFileSync(path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
  }
}

/** Line content with the spacing inside flow collections removed, indentation kept. */
function spacingKey(line: string): string {
  const indent = /^\s*/.exec(line)![0];
  return indent + line.slice(indent.length).replace(/\s*([[\]{},])\s*/g, '$1').trimEnd();
}

/**
 * yaml prints flow collections one way (`[a]` or `[ a ]`); a hand-written file mixes both. Every
 * output line that differs from an original line only by that spacing is put back as written. The
 * result must parse to exactly the same data as the edited document, else the edited text is used.
 */
export function restoreStyle(original: string, edited: string): string {
  const originals = new Map<string, string[]>();
  for (const line of original.split('\n')) {
    const key = spacingKey(line);
    originals.set(key, [...(originals.get(key) ?? []), line]);
  }
  // yaml moves a comment written after `key:` (whose value is a block) to a line of its own below.
  const trailing = new Map(original.split('\n').filter((l) => /^\s*[^#\s][^#]*:\s+#/.test(l)).map((l) => [l.replace(/\s+#/, ' #'), l]));
  const lines = edited.split('\n');
  const merged: string[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const next = lines[i + 1];
    const joined = next !== undefined && next.trim().startsWith('#') ? trailing.get(`${lines[i]} ${next.trim()}`) : undefined;
    if (joined !== undefined) {
      merged.push(joined);
      i += 1;
    } else {
      merged.push(lines[i]!);
    }
  }
  const restored = merged.map((line) => {
    const queue = originals.get(spacingKey(line));
    return queue !== undefined && queue.length > 0 ? queue.shift()! : line;
  }).join('\n');
  const same = JSON.stringify(parseDocument(restored).toJS()) === JSON.stringify(parseDocument(edited).toJS());
  return same ? restored : edited;
}

/**
 * One operation on the yaml Document. `set` on an existing scalar or collection replaces only that
 * node; a new map key is appended after the existing ones; a new sequence item is appended at the
 * end in the sequence's own style.
 */
function applyToDocument(doc: Document, op: Change['ops'][number]): void {
  if (op.op === 'delete') {
    if (doc.hasIn(op.path)) doc.deleteIn(op.path);
    return;
  }
  const parentPath = op.path.slice(0, -1);
  const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  const last = op.path[op.path.length - 1]!;
  if (isSeq(parent) && typeof last === 'number' && last >= parent.items.length) {
    const node = doc.createNode(op.value);
    // An appended item takes the style of its siblings (a flow map per line stays a flow map).
    const sibling = parent.items[parent.items.length - 1];
    if (isMap(node) && isMap(sibling) && sibling.flow === true) node.flow = true;
    parent.items.push(node);
    return;
  }
  // A replaced collection keeps the style it was written in (`actions: [read, write]` stays a flow list).
  const node = doc.createNode(op.value);
  const existing = doc.getIn(op.path, true);
  if (isCollection(node) && isCollection(existing) && existing.flow === true) node.flow = true;
  doc.setIn(op.path, node);
}
