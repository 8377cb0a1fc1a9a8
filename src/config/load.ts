/**
 * Loads the broker's YAML config at cold start: parse (duplicate keys refused), validate with the
 * zod schema (unknown keys refused), then the cross-field checks. Any failure is one ConfigError
 * naming the source and every bad field, so the broker refuses to start with the reason in its log.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../domain/errors.js';
import type { Partner } from '../domain/model.js';
import type { ConfigIssue } from '../rules/issues.js';
import { crossCheckFindings } from './crossChecks.js';
import { configSchema, type BrokerConfig } from './schema.js';

export type { ConfigIssue } from '../rules/issues.js';

/** The outcome of checking config text: `config` is set exactly when `issues` is empty. */
export interface ConfigCheck {
  /** Refusals: the broker will not start on this config. */
  issues: ConfigIssue[];
  /** Accepted, but worth an operator's eye (a literal prefix holding every subject's folder, say). */
  notices: ConfigIssue[];
  config?: BrokerConfig;
}

/**
 * Which grant store the config is read for. `yaml` (the default): the file holds the partners, at
 * least one. `dynamodb`: the partners live in the grant table and the file holds only the deployment
 * settings (allowInsecureLoopbackHttp); partners in it are refused, because an operator editing
 * them would change nothing the broker serves.
 */
export interface ConfigReadOptions {
  grantStore?: 'yaml' | 'dynamodb';
}

/**
 * Checks config text exactly as the broker does at cold start (YAML, schema, cross-field rules),
 * returning every finding instead of throwing: for scripts and tools that list them.
 */
export function checkConfigText(yamlText: string, options: ConfigReadOptions = {}): ConfigCheck {
  const raw = parseYaml(yamlText);
  if ('issues' in raw) return { issues: raw.issues, notices: [] };
  // Without zod's JIT: it compiles a parser per object schema on the first parse, which pays only when
  // the same schema parses again and again; the config is parsed once per cold start (a third of the time).
  const parsed = configSchema.safeParse(raw.value, { jitless: true });
  if (!parsed.success) return { issues: parsed.error.issues.flatMap((issue) => describeIssue(issue, raw.value)), notices: [] };
  const storeIssues = partnersForStore(parsed.data, options.grantStore ?? 'yaml');
  if (storeIssues.length > 0) return { issues: storeIssues, notices: [] };
  const { issues, notices } = crossCheckFindings(parsed.data);
  return issues.length > 0 ? { issues, notices } : { issues, notices, config: parsed.data };
}

function partnersForStore(config: BrokerConfig, grantStore: 'yaml' | 'dynamodb'): ConfigIssue[] {
  const count = Object.keys(config.partners).length;
  if (grantStore === 'yaml' && count === 0) return [{ path: 'partners', message: 'at least one partner is required' }];
  if (grantStore === 'dynamodb' && count > 0) {
    return [{ path: 'partners', message: 'must be empty with BROKER_GRANT_STORE=dynamodb: the partners come from the grant table (load these with the admin import command)' }];
  }
  return [];
}

/** Parses and validates config text, with the notices; `source` (usually the file path) is named in every error. */
export function parseConfigWithNotices(yamlText: string, source: string, options: ConfigReadOptions = {}): { config: BrokerConfig; notices: ConfigIssue[] } {
  const { issues, notices, config } = checkConfigText(yamlText, options);
  if (config === undefined) throw configError(source, issues);
  return { config, notices };
}

/** Parses and validates config text; `source` (usually the file path) is named in every error. */
export function parseConfig(yamlText: string, source: string): BrokerConfig {
  return parseConfigWithNotices(yamlText, source).config;
}

/** Reads, parses and validates the config file at `path`, with the notices. */
export function loadConfigFileWithNotices(path: string, options: ConfigReadOptions = {}): { config: BrokerConfig; notices: ConfigIssue[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`invalid config ${path}: cannot read the file (${reason})`, { cause });
  }
  return parseConfigWithNotices(text, path, options);
}

/** Reads, parses and validates the config file at `path`. */
export function loadConfigFile(path: string): BrokerConfig {
  return loadConfigFileWithNotices(path).config;
}

/**
 * The config's partners as the model (domain/model.ts) in a Map, so an id such as "constructor"
 * never resolves through Object.prototype. The schema's types are the model's field for field: the
 * assignment below is the compile-time proof, and a schema change that breaks it fails the build.
 */
export function partnersOf(config: BrokerConfig): ReadonlyMap<string, Partner> {
  return new Map(Object.entries(config.partners).map(([id, partner]): [string, Partner] => [id, partner]));
}

/** First 16 hex chars of the SHA-256 of the config's canonical JSON: equal configs, equal hashes. */
export function configHash(config: BrokerConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted at every depth, so the text depends on content, not key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

function configError(source: string, issues: ConfigIssue[]): ConfigError {
  return new ConfigError(`invalid config ${source}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
}

/** YAML → plain data. Duplicate keys are errors (the yaml default, stated anyway); so are warnings. */
function parseYaml(text: string): { value: unknown } | { issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) return { issues: problems.map((p) => describeYamlProblem(doc, lineCounter, p)) };
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (cause) {
    // toJS throws on alias expansion bombs ("excessive alias count")
    return { issues: [{ path: 'yaml', message: (cause as Error).message }] };
  }
}

function describeYamlProblem(doc: Document, lineCounter: LineCounter, problem: YAMLError): ConfigIssue {
  const { line, col } = lineCounter.linePos(problem.pos[0]);
  const where = `line ${line}, column ${col}`;
  const keyPath = problem.code === 'DUPLICATE_KEY' ? keyPathAt(doc, problem.pos[0]) : undefined;
  if (keyPath !== undefined) return { path: keyPath, message: `duplicate key (${where})` };
  return { path: `yaml (${where})`, message: problem.message };
}

/** Dotted path of the mapping key that starts at `offset`, so a duplicate key is named like any field. */
function keyPathAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isNode(pair.key) || pair.key.range?.[0] !== offset) return undefined;
      const names = ancestors.flatMap((node, i) => {
        if (isPair(node)) return [String(isScalar(node.key) ? node.key.value : node.key)];
        if (isSeq(node)) return [String(node.items.indexOf(ancestors[i + 1] as never))];
        return [];
      });
      found = dotted([...names, String(isScalar(pair.key) ? pair.key.value : pair.key)]);
      return visit.BREAK;
    },
  });
  return found;
}

/** Dotted path; the document root is named explicitly so an empty path never reads as nothing. */
function dotted(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

/** The raw (pre-zod) value at `path`, to tell "missing" from "wrong type". */
function valueAt(raw: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** One zod issue as dotted-path findings, in words a config author can act on. */
function describeIssue(issue: z.core.$ZodIssue, raw: unknown): ConfigIssue[] {
  const path = dotted(issue.path);
  const value = valueAt(raw, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: dotted([...issue.path, key]), message: 'unrecognized key' }));
    case 'invalid_key':
      return [{ path, message: issue.issues.map((i) => i.message).join('; ') }];
    case 'invalid_type':
      if (value === undefined) return [{ path, message: 'required' }];
      if (issue.expected === 'date') return [{ path, message: 'must be a date like 2027-06-30' }];
      return [{ path, message: `expected ${issue.expected}, got ${typeName(value)}` }];
    case 'invalid_union': {
      if (value === undefined) return [{ path, message: 'required' }];
      // A branch whose type matched failed on content: its own findings say more than "expected X".
      const matched = issue.errors.find((branch) => branch.some((i) => i.code !== 'invalid_type' || i.path.length > 0));
      if (matched) return matched.flatMap((i) => describeIssue({ ...i, path: [...issue.path, ...i.path] }, raw));
      const expected = [...new Set(issue.errors.flat().flatMap((i) => (i.code === 'invalid_type' && i.path.length === 0 ? [i.expected] : [])))];
      const message = expected.length > 0 ? `expected ${expected.join(' or ')}, got ${typeName(value)}` : issue.message;
      return [{ path, message }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}
