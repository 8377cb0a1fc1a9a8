/**
 * jest `setupFiles` module of the unit project (see jest.config.js): tees this worker's
 * stdout/stderr into the run's capture directory and records the fixture's API keys, so
 * scripts/check-logs.ts can prove no secret reached a log. See ./logScan.ts.
 */
import { FIXTURE_API_KEYS } from './configFixture.js';
import { installLogTee, recordSecrets } from '../../scripts/lib/logScan.js';

installLogTee();
for (const { key } of Object.values(FIXTURE_API_KEYS)) recordSecrets(key, key.split('_')[2]);
