/**
 * The hub's credential check. The credential travels only in `Authorization: Bearer`, never in a
 * URL (URLs end up in proxy logs, shell history and Referer headers), and is compared in constant
 * time so its bytes cannot be found one at a time from response timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True when `authorization` is `Bearer <token>`. Both sides are hashed first: timingSafeEqual
 * needs equal lengths, and comparing digests hides the token's length too.
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(presented), digest(token));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
