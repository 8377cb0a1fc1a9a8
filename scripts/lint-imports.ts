/**
 * `npm run lint:imports`: the import boundaries that keep the architecture honest (see
 * docs/architecture.md). Fails, listing every violation, when
 *  - the pure core (everything in src/ except src/adapters/ and src/wiring/) imports an AWS SDK
 *    package (@aws-sdk/*, @smithy/*), anything under src/adapters/, or node:http / node:https, or
 *    calls the global `fetch` (network I/O belongs to the adapters);
 *  - src/ imports scripts/ or test/; scripts/ imports test/;
 *  - two modules import each other (directly or through a chain), or two folders do: src/<a>/
 *    importing src/<b>/ while src/<b>/ reaches back into src/<a>/ is a cycle between layers even
 *    when no single module cycle exists.
 *
 * Module resolution and the module-level rules are dependency-cruiser's (a maintained, widely used
 * analyser); the folder-level cycle check and the `fetch` check are added here because
 * dependency-cruiser has no rule for either.
 *
 * usage: tsx scripts/lint-imports.ts [--root <dir>]   (default: the repository)
 */
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import ts from 'typescript';
import { runCli, UsageError } from './lib/cli.js';

const CORE = '^src/(?!adapters/|wiring/)';

export const RULES: IForbiddenRuleType[] = [
  {
    name: 'core-imports-aws-sdk',
    comment: 'the pure core must not import an AWS SDK package: only src/adapters/ and src/wiring/ may',
    severity: 'error',
    from: { path: CORE },
    to: { path: '(^|/)node_modules/(@aws-sdk|@smithy)/|^(@aws-sdk|@smithy)/' },
  },
  {
    name: 'core-imports-adapter',
    comment: 'the pure core must not import an adapter: it depends on ports, wiring plugs adapters in',
    severity: 'error',
    from: { path: CORE },
    to: { path: '^src/adapters/' },
  },
  {
    name: 'core-imports-node-http',
    comment: 'the pure core must not do network I/O (node:http / node:https)',
    severity: 'error',
    from: { path: CORE },
    to: { dependencyTypes: ['core'], path: '^(node:)?https?$' },
  },
  {
    name: 'src-imports-scripts-or-test',
    comment: 'the product must not depend on scripts or tests',
    severity: 'error',
    from: { path: '^src/' },
    to: { path: '^(scripts|test)/' },
  },
  {
    name: 'scripts-import-test',
    comment: 'scripts must not depend on tests: shared helpers live in scripts/lib/',
    severity: 'error',
    from: { path: '^scripts/' },
    to: { path: '^test/' },
  },
  {
    name: 'module-cycle',
    comment: 'modules must not import each other',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
];

export interface Violation {
  rule: string;
  from: string;
  to: string;
}

/** The folder a module belongs to for the layer check: `src/<top>` (or the file for src/*.ts). */
function layerOf(path: string): string | undefined {
  const m = /^src\/([^/]+)\//.exec(path);
  return m ? `src/${m[1]}` : undefined;
}

/** Folder-level cycles: every folder pair (a → b) where b also reaches a through folder edges. */
function folderCycles(result: ICruiseResult): Violation[] {
  const edges = new Map<string, Map<string, string>>(); // from folder → to folder → one example
  for (const mod of result.modules) {
    const a = layerOf(mod.source);
    if (!a) continue;
    for (const dep of mod.dependencies) {
      const b = layerOf(dep.resolved);
      if (!b || b === a) continue;
      const out = edges.get(a) ?? new Map<string, string>();
      if (!out.has(b)) out.set(b, `${mod.source} -> ${dep.resolved}`);
      edges.set(a, out);
    }
  }
  const reaches = (from: string, target: string): boolean => {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node === target) return true;
      if (seen.has(node)) continue;
      seen.add(node);
      for (const next of edges.get(node)?.keys() ?? []) stack.push(next);
    }
    return false;
  };
  const found: Violation[] = [];
  for (const [a, out] of edges) {
    for (const [b, example] of out) {
      if (reaches(b, a)) found.push({ rule: 'folder-cycle', from: a, to: `${b} (e.g. ${example}; and ${b} reaches back into ${a})` });
    }
  }
  return found;
}

/** Calls of the global fetch (`fetch(…)`, `globalThis.fetch(…)`) in core files. */
function fetchCalls(root: string, files: string[]): Violation[] {
  const found: Violation[] = [];
  for (const file of files) {
    if (!new RegExp(CORE).test(file)) continue;
    const text = readFileSync(join(root, file), 'utf8');
    if (!text.includes('fetch')) continue;
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const callee = node.expression;
        const isGlobalFetch = (ts.isIdentifier(callee) && callee.text === 'fetch')
          || (ts.isPropertyAccessExpression(callee) && callee.name.text === 'fetch' && ts.isIdentifier(callee.expression) && callee.expression.text === 'globalThis');
        if (isGlobalFetch) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart());
          found.push({ rule: 'core-calls-fetch', from: `${file}:${line + 1}`, to: 'fetch (network I/O belongs in src/adapters/)' });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/** Every violation in the tree under `root` (its src/, handlers/ and scripts/ folders). */
export async function lintImports(root: string): Promise<{ violations: Violation[]; modules: number }> {
  const previous = process.cwd();
  process.chdir(root); // dependency-cruiser reports paths relative to the working directory
  try {
    const scan = ['src', 'handlers', 'scripts'].filter((d) => {
      try { return ts.sys.directoryExists(join(root, d)); } catch { return false; }
    });
    const result = await cruise(scan, {
      validate: true,
      ruleSet: { forbidden: RULES },
      tsPreCompilationDeps: true,
      doNotFollow: { path: 'node_modules' },
      exclude: { path: '\\.d\\.ts$' },
      tsConfig: ts.sys.fileExists(join(root, 'tsconfig.json')) ? { fileName: 'tsconfig.json' } : undefined,
    });
    const output = result.output as ICruiseResult;
    const violations: Violation[] = output.summary.violations.map((v) => ({
      rule: v.rule.name,
      from: v.from,
      to: v.cycle ? v.cycle.map((c) => (typeof c === 'string' ? c : c.name)).join(' -> ') : v.to,
    }));
    const files = output.modules.map((m) => m.source).filter((s) => /^(src|handlers|scripts)\/.*\.(ts|js|mjs)$/.test(s));
    return { violations: [...violations, ...folderCycles(output), ...fetchCalls(root, files)], modules: files.length };
  } finally {
    process.chdir(previous);
  }
}

const SPEC = {
  name: 'lint:imports',
  usage: 'npm run lint:imports [-- --root <dir>]',
  summary: [
    'Checks the import boundaries of src/, handlers/ and scripts/ (see docs/architecture.md) and lists',
    'every violation. Exit 0: none; 1: violations found; 2: a usage error.',
  ],
  positionals: [],
  options: { root: { type: 'string' as const, value: '<dir>', description: 'the tree to check (default: the repository)' } },
};

async function main(argv: readonly string[]): Promise<number> {
  return runCli(SPEC, argv, async ({ values, positionals }) => {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const root = resolve(typeof values.root === 'string' ? values.root : join(import.meta.dirname, '..'));
    const { violations, modules } = await lintImports(root);
    if (violations.length === 0) {
      console.log(`lint:imports: ${modules} modules, no boundary violated (${relative(process.cwd(), root) || '.'})`);
      return 0;
    }
    console.error(`lint:imports: ${violations.length} violation(s):`);
    for (const v of violations) console.error(`  ${v.rule}: ${v.from} -> ${v.to}`);
    return 1;
  });
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) process.exitCode = await main(process.argv.slice(2));
