// jest globalTeardown for the e2e project: see globalSetup.mjs. The running processes are kept on
// globalThis by stack.ts, so a second module instance finds them.
import { tsImport } from 'tsx/esm/api';

export default async function globalTeardown() {
  const stack = await tsImport('./stack.ts', import.meta.url);
  await stack.globalTeardown();
}
