import { describe, expect, it } from '@jest/globals';
import { MAX_SESSION_NAME_LENGTH, SESSION_NAME_PATTERN } from '../../src/rules/limits.js';
import { encodeSubject } from '../../src/rules/subject.js';
import { fitSessionName, sessionIdentity } from '../../src/rules/sessionIdentity.js';
import type { Caller } from '../../src/domain/model.js';

function caller(overrides: Partial<Caller> = {}): Caller {
  const subject = overrides.subject ?? 'alice';
  return { partnerId: 'acme', clientId: 'app', method: 'jwt', subject, subjectSegment: encodeSubject(subject), ...overrides };
}

describe('sessionIdentity', () => {
  it('names the session sb.<partner>.<client>.<subjectSegment> and uses it as SourceIdentity', () => {
    const id = sessionIdentity(caller());
    expect(id.roleSessionName).toBe('sb.acme.app.alice');
    expect(id.sourceIdentity).toBe('sb.acme.app.alice');
  });

  it('tags the session with partner, client and subject segment', () => {
    expect(sessionIdentity(caller({ subject: 'alice/x', subjectSegment: encodeSubject('alice/x') })).tags).toEqual([
      { key: 'partner', value: 'acme' },
      { key: 'client', value: 'app' },
      { key: 'subject', value: encodeSubject('alice/x') },
    ]);
  });

  it('adds a request-id tag when asked, replacing characters tags do not allow', () => {
    expect(sessionIdentity(caller(), { requestId: 'Ab12=' }).tags.at(-1)).toEqual({ key: 'request-id', value: 'Ab12=' });
    expect(sessionIdentity(caller(), { requestId: 'a#b"c' }).tags.at(-1)).toEqual({ key: 'request-id', value: 'a_b_c' });
  });

  it('fits an encoded subject (54 chars) into 64 with a readable head and a digest', () => {
    const id = sessionIdentity(caller({ subject: 'alice/x', subjectSegment: encodeSubject('alice/x') }));
    expect(id.roleSessionName).toHaveLength(MAX_SESSION_NAME_LENGTH);
    expect(id.roleSessionName).toMatch(SESSION_NAME_PATTERN);
    expect(id.roleSessionName).toMatch(/^sb\.acme\.app\.h-[a-z2-7]+@[a-z2-7]{20}$/);
  });

  it('is deterministic', () => {
    const c = caller({ subject: 'alice/x', subjectSegment: encodeSubject('alice/x') });
    expect(sessionIdentity(c)).toEqual(sessionIdentity(c));
  });

  it('keeps callers apart whose long names share the readable head', () => {
    const a = sessionIdentity(caller({ subject: 'x'.repeat(60), subjectSegment: 'x'.repeat(60) }));
    const b = sessionIdentity(caller({ subject: `${'x'.repeat(59)}y`, subjectSegment: `${'x'.repeat(59)}y` }));
    expect(a.roleSessionName.slice(0, 43)).toBe(b.roleSessionName.slice(0, 43));
    expect(a.roleSessionName).not.toBe(b.roleSessionName);
  });

  it('never starts SourceIdentity with the reserved "aws:"', () => {
    expect(sessionIdentity(caller()).sourceIdentity.startsWith('aws:')).toBe(false);
  });
});

describe('fitSessionName', () => {
  it('keeps a name of exactly 64 characters', () => {
    const name = `sb.acme.app.${'x'.repeat(52)}`;
    expect(name).toHaveLength(64);
    expect(fitSessionName(name)).toBe(name);
  });

  it('shortens a name of 65 characters to exactly 64', () => {
    const name = `sb.acme.app.${'x'.repeat(53)}`;
    const fitted = fitSessionName(name);
    expect(fitted).toHaveLength(64);
    expect(fitted).toMatch(SESSION_NAME_PATTERN);
    expect(fitted.startsWith(name.slice(0, 43))).toBe(true);
  });

  it('fits the longest possible name: 32-char partner and client, 64-char segment', () => {
    const fitted = fitSessionName(`sb.${'p'.repeat(32)}.${'c'.repeat(32)}.${'s'.repeat(64)}`);
    expect(fitted).toHaveLength(64);
    expect(fitted).toMatch(SESSION_NAME_PATTERN);
  });

  it('hashes names with characters outside [\\w+=,.@-] instead of passing them to STS', () => {
    const fitted = fitSessionName('sb.acme.app.a b');
    expect(fitted).toMatch(/^sb\.acme\.app\.a@[a-z2-7]{20}$/);
  });

  it('hashes a name that already contains the digest mark, so "@" always means "shortened"', () => {
    expect(fitSessionName('sb.a@b')).toMatch(/^sb\.a@[a-z2-7]{20}$/);
  });
});
