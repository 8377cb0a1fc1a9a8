import { describe, expect, it } from '@jest/globals';
import { MAX_SESSION_POLICY_CHARS } from '../../src/rules/limits.js';
import { PolicyTooLargeError } from '../../src/domain/errors.js';
import type { Action } from '../../src/domain/actions.js';
import { buildSessionPolicy } from '../../src/rules/sessionPolicy.js';
import type { Scope } from '../../src/domain/model.js';
import { simulate, validatePolicy } from '../support/iamSim.js';

const BUCKET = 'partner-bucket';
const OBJECTS = `arn:aws:s3:::${BUCKET}/acme/*`;
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;

function scope(actions: Action[], extra: Partial<Scope> = {}): Scope {
  return { partition: 'aws', bucket: BUCKET, prefix: 'acme/', actions, ...extra };
}

function objectStatement(actions: string[], resource = OBJECTS): string {
  return `{"Sid":"Objects","Effect":"Allow","Action":${JSON.stringify(actions)},"Resource":"${resource}"}`;
}

const LIST = `{"Sid":"List","Effect":"Allow","Action":["s3:ListBucket"],"Resource":"${BUCKET_ARN}","Condition":{"StringLike":{"s3:prefix":["acme/","acme/*"]}}}`;
const WRITE = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];

function policy(...statements: string[]): string {
  return `{"Version":"2012-10-17","Statement":[${statements.join(',')}]}`;
}

describe('buildSessionPolicy: exact JSON per action combination', () => {
  const cases: Array<[Action[], string]> = [
    [['read'], policy(objectStatement(['s3:GetObject']))],
    [['write'], policy(objectStatement(WRITE))],
    [['delete'], policy(objectStatement(['s3:DeleteObject']))],
    [['list'], policy(LIST)],
    [['read', 'write'], policy(objectStatement(['s3:GetObject', ...WRITE]))],
    [['read', 'list'], policy(objectStatement(['s3:GetObject']), LIST)],
    [['write', 'delete'], policy(objectStatement([...WRITE, 's3:DeleteObject']))],
    [['read', 'write', 'list', 'delete'], policy(objectStatement(['s3:GetObject', ...WRITE, 's3:DeleteObject']), LIST)],
  ];

  it.each(cases)('%j', (actions, expected) => {
    expect(buildSessionPolicy(scope(actions))).toBe(expected);
  });

  it('does not depend on the order the verbs are listed in, nor repeat them', () => {
    expect(buildSessionPolicy(scope(['list', 'delete', 'write', 'read', 'read']))).toBe(buildSessionPolicy(scope(['read', 'write', 'list', 'delete'])));
  });

  it('takes the partition from the scope', () => {
    expect(buildSessionPolicy(scope(['read', 'list'], { partition: 'aws-cn' }))).toBe(
      policy(objectStatement(['s3:GetObject'], `arn:aws-cn:s3:::${BUCKET}/acme/*`), LIST.replace('arn:aws:', 'arn:aws-cn:')),
    );
  });

  it('produces a document iam-policy accepts as a session policy', () => {
    expect(validatePolicy(buildSessionPolicy(scope(['read', 'write', 'list', 'delete'])))).toEqual([]);
    expect(validatePolicy(buildSessionPolicy(scope(['read'], { prefix: 'acme/a b/ü/' })))).toEqual([]);
  });

  it('validatePolicy reports a broken document (the helper is not vacuous)', () => {
    expect(validatePolicy('{"Version":"2012-10-17","Statement":[{"Action":"s3:GetObject","Resource":"*"}]}')).not.toEqual([]);
  });
});

describe('buildSessionPolicy: refuses what IAM would read as a pattern', () => {
  it.each([
    ['prefix', { prefix: 'ac*me/' }],
    ['prefix', { prefix: 'acme?/' }],
    ['prefix', { prefix: 'acme/${aws:username}/' }],
    ['bucket', { bucket: 'partner-*' }],
  ])('%s %j', (field, extra) => {
    expect(() => buildSessionPolicy(scope(['read'], extra))).toThrow(TypeError);
    expect(() => buildSessionPolicy(scope(['read'], extra))).toThrow(`scope.${field} contains *, ? or $`);
  });

  it('refuses a prefix without the trailing slash, which would reach "acme2/"', () => {
    expect(() => buildSessionPolicy(scope(['read'], { prefix: 'acme' }))).toThrow('scope.prefix must be non-empty and end with "/"');
    expect(() => buildSessionPolicy(scope(['read'], { prefix: '' }))).toThrow(TypeError);
  });

  it('refuses a scope that grants nothing', () => {
    expect(() => buildSessionPolicy(scope([]))).toThrow('scope grants no action');
  });
});

describe('buildSessionPolicy: size limit', () => {
  // Fixed overhead of a read policy on a prefix, so a prefix length can be chosen to land on the limit.
  const overhead = buildSessionPolicy(scope(['read'], { prefix: 'acme/x/' })).length - 'acme/x/'.length;

  it('accepts a policy of exactly the limit', () => {
    const prefix = `acme/${'k'.repeat(MAX_SESSION_POLICY_CHARS - overhead - 'acme//'.length)}/`;
    expect(buildSessionPolicy(scope(['read'], { prefix }))).toHaveLength(MAX_SESSION_POLICY_CHARS);
  });

  it('refuses one character more with a 400 naming size and limit', () => {
    const prefix = `acme/${'k'.repeat(MAX_SESSION_POLICY_CHARS - overhead - 'acme//'.length + 1)}/`;
    const attempt = (): string => buildSessionPolicy(scope(['read'], { prefix }));
    expect(attempt).toThrow(PolicyTooLargeError);
    expect(attempt).toThrow(`the session policy is ${MAX_SESSION_POLICY_CHARS + 1} characters; STS allows at most ${MAX_SESSION_POLICY_CHARS}`);
    try {
      attempt();
    } catch (err) {
      expect(err).toMatchObject({ status: 400, code: 'policy_too_large' });
    }
  });
});

describe('buildSessionPolicy under the IAM simulator (session policy is the only limit)', () => {
  const readWrite = buildSessionPolicy(scope(['read', 'write']));
  const withList = buildSessionPolicy(scope(['read', 'write', 'list']));

  it.each([
    ['s3:GetObject', `arn:aws:s3:::${BUCKET}/acme/x`, 'Allowed'],
    ['s3:PutObject', `arn:aws:s3:::${BUCKET}/acme/deep/x.pdf`, 'Allowed'],
    ['s3:GetObject', `arn:aws:s3:::${BUCKET}/acme2/x`, 'ImplicitlyDenied'],
    ['s3:GetObject', `arn:aws:s3:::${BUCKET}/ac/x`, 'ImplicitlyDenied'],
    ['s3:GetObject', `arn:aws:s3:::${BUCKET}/acme`, 'ImplicitlyDenied'],
    ['s3:GetObject', 'arn:aws:s3:::other-bucket/acme/x', 'ImplicitlyDenied'],
    ['s3:DeleteObject', `arn:aws:s3:::${BUCKET}/acme/x`, 'ImplicitlyDenied'],
    ['s3:ListBucket', BUCKET_ARN, 'ImplicitlyDenied'],
  ])('read+write on acme/: %s %s → %s', async (action, resource, expected) => {
    await expect(simulate(readWrite, action, resource, action === 's3:ListBucket' ? { 's3:prefix': 'acme/' } : {})).resolves.toBe(expected);
  });

  it.each([
    ['acme/', 'Allowed'],
    ['acme/sub/', 'Allowed'],
    ['acme2/', 'ImplicitlyDenied'],
    ['acm', 'ImplicitlyDenied'],
    ['', 'ImplicitlyDenied'],
  ])('with list: ListBucket s3:prefix %j → %s', async (prefix, expected) => {
    await expect(simulate(withList, 's3:ListBucket', BUCKET_ARN, { 's3:prefix': prefix })).resolves.toBe(expected);
  });

  it('with list: ListBucket without any s3:prefix is denied, as is listing another bucket', async () => {
    await expect(simulate(withList, 's3:ListBucket', BUCKET_ARN)).resolves.toBe('ImplicitlyDenied');
    await expect(simulate(withList, 's3:ListBucket', 'arn:aws:s3:::other-bucket', { 's3:prefix': 'acme/' })).resolves.toBe('ImplicitlyDenied');
  });

});
