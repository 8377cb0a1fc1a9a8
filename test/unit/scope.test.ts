import { describe, expect, it } from '@jest/globals';
import { GrantViolationError, InvalidDurationError, InvalidKeyError, InvalidRequestError } from '../../src/domain/errors.js';
import { ConfigGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import { scopeForCredentials, scopeForObject } from '../../src/rules/scope.js';
import { encodeSubject } from '../../src/rules/subject.js';
import type { Grant } from '../../src/ports/ports.js';
import { brokerConfig } from '../support/configFixture.js';

/** acme/backend: prefix acme/, all four actions, 3600 s. */
function backendGrant(): Grant {
  return resolveGrant(new ConfigGrantStore(brokerConfig()),
    { partnerId: 'acme', clientId: 'backend', method: 'api-key', subject: 'acmek1', subjectSegment: 'acmek1' });
}
/** acme/app for alice: prefix acme/users/alice/, read and write, 900 s. */
function appGrant(): Grant {
  return resolveGrant(new ConfigGrantStore(brokerConfig()),
    { partnerId: 'acme', clientId: 'app', method: 'jwt', subject: 'alice', subjectSegment: encodeSubject('alice') });
}

describe('scopeForCredentials', () => {
  it('defaults to the whole grant', () => {
    expect(scopeForCredentials(backendGrant())).toEqual({
      scope: { partition: 'aws', bucket: 'partner-bucket', prefix: 'acme/', actions: ['read', 'write', 'list', 'delete'] },
      durationSeconds: 3600,
    });
  });

  it('narrows actions, deduplicated in canonical order', () => {
    expect(scopeForCredentials(backendGrant(), { actions: ['list', 'read', 'list'] }).scope.actions).toEqual(['read', 'list']);
  });

  it('refuses actions outside the grant, naming them', () => {
    const run = () => scopeForCredentials(appGrant(), { actions: ['read', 'delete', 'list'] });
    expect(run).toThrow(GrantViolationError);
    expect(run).toThrow('actions outside the grant: delete, list (granted: read, write)');
  });

  it('refuses one action outside the grant, naming it', () => {
    const run = () => scopeForCredentials(appGrant(), { actions: ['delete'] });
    expect(run).toThrow(GrantViolationError);
    expect(run).toThrow('action outside the grant: delete (granted: read, write)');
  });

  it('refuses an empty action list', () => {
    expect(() => scopeForCredentials(appGrant(), { actions: [] })).toThrow(InvalidRequestError);
    expect(() => scopeForCredentials(appGrant(), { actions: [] })).toThrow('actions must not be empty');
  });

  it('narrows the prefix below the grant prefix (NFC)', () => {
    expect(scopeForCredentials(appGrant(), { prefix: 'cafe\u0301/' }).scope.prefix).toBe('acme/users/alice/caf\u00e9/');
  });

  it.each<[string, string]>([
    ['../bob/', 'prefix must not contain "." or ".." segments'],
    ['/', 'prefix must not start with "/"'],
    ['photos', 'prefix must end with "/"'],
    ['*/', 'prefix must not contain "*", "?" or "$" (IAM wildcards and variables: the Polaris CVE-2026-42810 class)'],
  ])('refuses the narrowing prefix %j', (prefix, message) => {
    expect(() => scopeForCredentials(appGrant(), { prefix })).toThrow(InvalidKeyError);
    expect(() => scopeForCredentials(appGrant(), { prefix })).toThrow(message);
  });

  it('refuses a narrowed prefix over 1024 bytes', () => {
    const prefix = `${'p'.repeat(1024 - 'acme/'.length)}/`;
    expect(() => scopeForCredentials(backendGrant(), { prefix })).toThrow(InvalidKeyError);
    expect(() => scopeForCredentials(backendGrant(), { prefix })).toThrow('full prefix is 1025 bytes of UTF-8; the limit is 1024');
  });

  describe('durationSeconds (grant max 3600)', () => {
    it('refuses 899 with a 400 naming the floor', () => {
      const run = () => scopeForCredentials(backendGrant(), { durationSeconds: 899 });
      expect(run).toThrow(InvalidDurationError);
      expect(run).toThrow('durationSeconds must be at least 900 (the AssumeRole floor)');
    });

    it.each([900, 3600])('accepts %i as asked', (durationSeconds) => {
      expect(scopeForCredentials(backendGrant(), { durationSeconds }).durationSeconds).toBe(durationSeconds);
    });

    it('refuses 3601 with a 403 naming the max, never shortening silently', () => {
      const run = () => scopeForCredentials(backendGrant(), { durationSeconds: 3601 });
      expect(run).toThrow(GrantViolationError);
      expect(run).toThrow('durationSeconds must be at most 3600 for this client');
    });

    it('refuses more than a client\'s own lower cap', () => {
      const run = () => scopeForCredentials(appGrant(), { durationSeconds: 901 });
      expect(run).toThrow(GrantViolationError);
      expect(run).toThrow('durationSeconds must be at most 900 for this client');
    });

    it('refuses fractions', () => {
      const run = () => scopeForCredentials(backendGrant(), { durationSeconds: 1000.5 });
      expect(run).toThrow(InvalidDurationError);
      expect(run).toThrow('durationSeconds must be a whole number of seconds');
    });
  });
});

describe('scopeForObject', () => {
  it('binds one full key and one action', () => {
    expect(scopeForObject(appGrant(), { action: 'write', relativeKey: 'photos/cat.jpg' })).toEqual({
      partition: 'aws', bucket: 'partner-bucket', prefix: 'acme/users/alice/', actions: ['write'], objectKey: 'acme/users/alice/photos/cat.jpg',
    });
  });

  it('refuses an action outside the grant', () => {
    const globexGrant = resolveGrant(new ConfigGrantStore(brokerConfig()),
      { partnerId: 'globex', clientId: 'backend', method: 'api-key', subject: 'globexk1', subjectSegment: 'globexk1' });
    const run = () => scopeForObject(globexGrant, { action: 'write', relativeKey: 'x.csv' });
    expect(run).toThrow(GrantViolationError);
    expect(run).toThrow('action outside the grant: write (granted: read, list)');
  });

  it('refuses a key that climbs out of the prefix', () => {
    const run = () => scopeForObject(appGrant(), { action: 'read', relativeKey: '../bob/secret.jpg' });
    expect(run).toThrow(InvalidKeyError);
    expect(run).toThrow('key must not contain "." or ".." segments');
  });

  it('refuses a full key over 1024 bytes', () => {
    const relativeKey = 'k'.repeat(1025 - 'acme/users/alice/'.length);
    expect(() => scopeForObject(appGrant(), { action: 'read', relativeKey })).toThrow(InvalidKeyError);
    expect(() => scopeForObject(appGrant(), { action: 'read', relativeKey })).toThrow('full key is 1025 bytes of UTF-8; the limit is 1024');
  });
});
