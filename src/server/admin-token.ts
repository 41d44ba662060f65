/**
 * The admin credential `warmsync serve` makes for itself when none is given: 32 random bytes in
 * DATA/admin-token, readable by its owner only, made once and read again on every later start, so
 * agents keep working across restarts.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ADMIN_TOKEN_FILE = 'admin-token';

export interface AdminToken {
  token: string;
  path: string;
  /** True when this call made the file. */
  created: boolean;
}

/** A credential file that cannot be used safely: readable by others, or empty. */
export class AdminTokenError extends Error {
  constructor(
    readonly code: 'token-file-open' | 'token-file-empty',
    message: string,
  ) {
    super(message);
    this.name = 'AdminTokenError';
  }
}

/**
 * Reads DATA/admin-token, or makes it (mode 0600) when it does not exist yet. Refuses a file that
 * group or others may read, as ssh does for keys: whoever reads it is admin.
 *
 * @example
 * const { token, path } = loadOrCreateAdminToken('./warmsync-data');
 */
export function loadOrCreateAdminToken(dataDir: string): AdminToken {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  let created = false;
  try {
    // 'wx': two hubs starting on one folder at once cannot overwrite each other's credential.
    writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
    created = true;
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new AdminTokenError(
      'token-file-open',
      `${path} is readable by others (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 ${path}`,
    );
  const token = readFileSync(path, 'utf8').trim();
  if (!token) throw new AdminTokenError('token-file-empty', `${path} is empty; delete it to make a new one`);
  return { token, path, created };
}
