/** Request and response pieces shared by several routes. */
import { z } from 'zod';
import { ACTIONS } from '../grants/actions.js';
import { MAX_PRESIGN_SECONDS, MIN_PRESIGN_SECONDS } from '../aws/limits.js';

/** A key relative to the grant's prefix; the full rules live in keys/objectKey.ts. */
export const relativeKey = z.string().min(1).max(1024).describe('object key relative to the grant prefix');
export const expiresIn = z.number().int().min(MIN_PRESIGN_SECONDS).max(MAX_PRESIGN_SECONDS).default(300)
  .describe('requested URL lifetime in seconds; the response states the real one');
export const contentType = z.string().min(3).max(255).describe('media type, one of the grant\'s contentTypes');
export const action = z.enum(ACTIONS);
export const isoDate = z.string().describe('ISO 8601 instant');
