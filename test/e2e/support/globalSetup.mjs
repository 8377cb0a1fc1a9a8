// jest globalSetup for the e2e project. Jest loads a globalSetup module outside its test runtime
// (no moduleNameMapper, no ESM transform), so the TypeScript harness is loaded with tsx, which
// resolves the project's NodeNext "./x.js" specifiers to the .ts sources.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const stack = await tsImport('./stack.ts', import.meta.url);
  await stack.globalSetup();
}
