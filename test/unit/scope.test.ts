import { describe, expect, it } from '@jest/globals';
import { GrantViolationError, InvalidDurationError, InvalidKeyError, InvalidRequestError } from '../../src/domain/errors.js';
import { YamlGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import { scopeForCredentials, scopeForObject, sessionScopeFor } from '../../src/rules/scope.js';
import { encodeSubject } from '../../src/rules/subject.js';
import type { Grant } from '../../src/domain/model.js';
import { brokerConfig } from '../support/configFixture.js';

/** acme/backend: prefix acme/, all four actions, 3600 s. */
async function backendGrant(): Promise<Grant> {
  return resolveGrant(new YamlGrantStore(brokerConfig()),
    { partnerId: 'acme', clientId: 'backend', method: 'api-key', subject: 'acmek1', subjectSegment: 'acmek1' });
}
/** acme/app for alice: prefix acme/users/alice/, read and write, 900 s. */
async function appGrant(): Promise<Grant> {
  return resolveGrant(new YamlGrantStore(brokerConfig()),
    { partnerId: 'acme', clientId: 'app', method: 'jwt', subject: 'alice', subjectSegment: encodeSubject('alice') });
}

describe('scopeForCredentials', () => {
  it('defaults to the whole grant', async () => {
    expect(scopeForCredentials((await backendGrant()))).toEqual({
      scope: { partition: 'aws', bucket: 'partner-bucket', prefix: 'acme/', actions: ['read', 'write', 'list', 'delete'] },
      durationSeconds: 3600,
    });
  });

  it('narrows actions, deduplicated in canonical order', async () => {
    expect(scopeForCredentials((await backendGrant()), { actions: ['list', 'read', 'list'] }).scope.actions).toEqual(['read', 'list']);
  });

  it('refuses actions outside the grant, naming them', async () => {
    const grant = await appGrant();
    const run = () => scopeForCredentials(grant, { actions: ['read', 'delete', 'list'] });
    expect(run).toThrow(GrantViolationError);
    expect(run).toThrow('actions outside the grant: delete, list (granted: read, write)');
  });

  it('refuses one action outside the grant, naming it', async () => {
    const grant = await appGrant();
    const run = () => scopeForCredentials(grant, { actions: ['delete'] });
    expect(run).toThrow(GrantViolationError);
    expect(run).toThrow('action outside the grant: delete (granted: read, write)');
  });

  it('refuses an empty action list', async () => {
    const grant = await appGrant();
    expect(() => scopeForCredentials(grant, { actions: [] })).toThrow(InvalidRequestError);
    expect(() => scopeForCredentials(grant, { actions: [] })).toThrow('actions must not be empty');
  });

  it('narrows the prefix below the grant prefix (NFC)', async () => {
    expect(scopeForCredentials((await appGrant()), { prefix: 'cafe\u0301/' }).scope.prefix).toBe('acme/users/alice/caf\u00e9/');
  });

  it.each<[string, string]>([
    ['../bob/', 'prefix must not contain "." or ".." segments'],
    ['/', 'prefix must not start with "/"'],
    ['photos', 'prefix must end with "/"'],
    ['*/', 'prefix must not contain "*", "?" or "$" (IAM wildcards and variables: the Polaris CVE-2026-42810 class)'],
  ])('refuses the narrowing prefix %j', async (prefix, message) => {
    const grant = await appGrant();
    expect(() => scopeForCredentials(grant, { prefix })).toThrow(InvalidKeyError);
    expect(() => scopeForCredentials(grant, { prefix })).toThrow(message);
  });

  it('refuses a narrowed prefix over 1024 bytes', async () => {
    const prefix = `${'p'.repeat(1024 - 'acme/'.length)}/`;
    const grant = await backendGrant();
    expect(() => scopeForCredentials(grant, { prefix })).toThrow(InvalidKeyError);
    expect(() => scopeForCredentials(grant, { prefix })).toThrow('full prefix is 1025 bytes of UTF-8; the limit is 1024');
  });

  describe('durationSeconds (grant max 3600)', () => {
    it('refuses 899 with a 400 naming the floor', async () => {
      const grant = await backendGrant();
      const run = () => scopeForCredentials(grant, { durationSeconds: 899 });
      expect(run).toThrow(InvalidDurationError);
      expect(run).toThrow('durationSeconds must be at least 900 (the AssumeRole floor)');
    });

    it.each([900, 3600])('accepts %i as asked', async (durationSeconds) => {
      expect(scopeForCredentials((await backendGrant()), { durationSeconds }).durationSeconds).toBe(durationSeconds);
    });

    it('refuses 3601 with a 403 naming the max, never shortening silently', async () => {
      const grant = await backendGrant();
      const run = () => scopeForCredentials(grant, { durationSeconds: 3601 });
      expect(run).toThrow(GrantViolationError);
      expect(run).toThrow('durationSeconds must be at most 3600 for this client');
    });

    it('refuses more than a client\'s own lower cap', async () => {
      const grant = await appGrant();
      const run = () => scopeForCredentials(grant, { durationSeconds: 901 });
      expect(run).toThrow(GrantViolationError);
      expect(run).toThrow('durationSeconds must be at most 900 for this client');
    });

    it('refuses fractions', async () => {
      const grant = await backendGrant();
      const run = () => scopeForCredentials(grant, { durationSeconds: 1000.5 });
      expect(run).toThrow(InvalidDurationError);
      expect(run).toThrow('durationSeconds must be a whole number of seconds');
    });
  });
});

describe('scopeForObject', () => {
  it('binds one full key and one action', async () => {
    expect(scopeForObject((await appGrant()), { action: 'write', relativeKey: 'photos/cat.jpg' })).toEqual({
      partition: 'aws', bucket: 'partner-bucket', prefix: 'acme/users/alice/', action: 'write', objectKey: 'acme/users/alice/photos/cat.jpg',
    });
  });

  it('refuses an action outside the grant', async () => {
    const globexGrant = await resolveGrant(new YamlGrantStore(brokerConfig()),
      { partnerId: 'globex', clientId: 'backend', method: 'api-key', subject: 'globexk1', subjectSegment: 'globexk1' });
    const run = () => scopeForObject(globexGrant, { action: 'write', relativeKey: 'x.csv' });
    expect(run).toThrow(GrantViolationError);
    expect(run).toThrow('action outside the grant: write (granted: read, list)');
  });

  it('refuses a key that climbs out of the prefix', async () => {
    const grant = await appGrant();
    const run = () => scopeForObject(grant, { action: 'read', relativeKey: '../bob/secret.jpg' });
    expect(run).toThrow(InvalidKeyError);
    expect(run).toThrow('key must not contain "." or ".." segments');
  });

  it('refuses a full key over 1024 bytes', async () => {
    const relativeKey = 'k'.repeat(1025 - 'acme/users/alice/'.length);
    const grant = await appGrant();
    expect(() => scopeForObject(grant, { action: 'read', relativeKey })).toThrow(InvalidKeyError);
    expect(() => scopeForObject(grant, { action: 'read', relativeKey })).toThrow('full key is 1025 bytes of UTF-8; the limit is 1024');
  });
});

describe('sessionScopeFor', () => {
  it('widens an object request to the grant prefix and its one action, without the key', async () => {
    const request = scopeForObject(await appGrant(), { action: 'read', relativeKey: 'photos/cat.jpg' });
    expect(sessionScopeFor(request)).toEqual({ partition: 'aws', bucket: 'partner-bucket', prefix: 'acme/users/alice/', actions: ['read'] });
  });
});
