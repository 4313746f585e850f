import { randomBytes } from 'node:crypto';

// SPEC: a caller's x-request-id is kept when it is 1–128 characters of [A-Za-z0-9._:-], else replaced.
const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

// Ids come from a pre-filled random pool: one randomBytes call per 512 ids instead of per request.
const POOL_IDS = 512;
const ID_BYTES = 16;
let pool = randomBytes(POOL_IDS * ID_BYTES);
let next = 0;

export function newRequestId(): string {
  if (next === POOL_IDS) {
    pool = randomBytes(POOL_IDS * ID_BYTES);
    next = 0;
  }
  const start = next++ * ID_BYTES;
  return pool.toString('hex', start, start + ID_BYTES);
}

export function acceptOrCreateRequestId(given: string | string[] | undefined): string {
  if (typeof given === 'string' && VALID.test(given)) return given;
  return newRequestId();
}
