#!/usr/bin/env -S node --import tsx
/**
 * `npm run admin -- <command> …` (bin: sts-broker-admin): the grant store's admin commands. The
 * logic lives in scripts/admin/ (cli.ts: commands and options; store.ts, yamlStore.ts,
 * dynamoStore.ts: the validated, locked, audited writers; commands.ts: what each command changes).
 */
import { runAdmin } from './admin/cli.js';

process.exitCode = await runAdmin(process.argv.slice(2));
