import { describe, expect, it } from '@jest/globals';
import { LOG_LEVELS, loggerLogLevel, readSettings } from '../../src/config/settings.js';
import { ConfigError } from '../../src/domain/errors.js';

const base = { BROKER_CONFIG: 'broker.yaml' };

describe('LOG_LEVEL', () => {
  it('defaults to INFO when unset or empty', () => {
    expect(readSettings(base).LOG_LEVEL).toBe('INFO');
    expect(readSettings({ ...base, LOG_LEVEL: '' }).LOG_LEVEL).toBe('INFO');
  });

  it.each(LOG_LEVELS.flatMap((level) => [level, level.toLowerCase(), level[0] + level.slice(1).toLowerCase()]))(
    'accepts %j (any case) as its Powertools level', (value) => {
      expect(readSettings({ ...base, LOG_LEVEL: value }).LOG_LEVEL).toBe(value.toUpperCase());
      expect(loggerLogLevel({ LOG_LEVEL: value })).toBe(value.toUpperCase());
    },
  );

  it.each(['verbose', 'WARNING', 'info ', 'debug2', 'FATAL', '0'])('refuses %j, naming the variable and the levels', (value) => {
    expect(() => readSettings({ ...base, LOG_LEVEL: value })).toThrow(ConfigError);
    expect(() => readSettings({ ...base, LOG_LEVEL: value })).toThrow(
      'invalid environment: LOG_LEVEL: must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT (any case)');
  });

  it('gives the logger INFO for an invalid value, so the refusal itself can be logged', () => {
    expect(loggerLogLevel({ LOG_LEVEL: 'verbose' })).toBe('INFO');
    expect(loggerLogLevel({})).toBe('INFO');
  });
});
