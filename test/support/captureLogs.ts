import { jest } from '@jest/globals';
import { appendCapturedLog } from '../../scripts/lib/logScan.js';

/**
 * Captures everything written to stdout/stderr (where the Powertools logger writes) while `fn`
 * runs, and also appends it to the run's capture log (./logScan.ts), so the no-secret-in-logs
 * check scans these lines too.
 */
export async function captureLogs<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const chunks: string[] = [];
  const grab = (chunk: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
    chunks.push(text);
    appendCapturedLog(text);
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(grab as never);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(grab as never);
  try {
    const result = await fn();
    return { result, lines: chunks.join('').split('\n').filter(Boolean) };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
