import * as z from 'zod';
import type { PublicRoute } from '../http/route.js';

export const healthRoute: PublicRoute<Record<string, never>> = {
  id: 'health',
  method: 'GET',
  path: '/health',
  summary: 'Liveness',
  description: 'Unauthenticated liveness probe: the broker loaded a valid config. Reports the version and a hash of the config.',
  auth: 'none',
  input: z.strictObject({}),
  output: z.object({ status: z.literal('ok'), version: z.string(), configHash: z.string() }),
  noStore: false,
  async handle(_input, { deps }) {
    return { status: 'ok', version: deps.settings.BROKER_VERSION, configHash: await deps.store.version() };
  },
};
