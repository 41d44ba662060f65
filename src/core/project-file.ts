/**
 * The project file, `warmsync.toml` at a synced folder's root: the hub, the workspace, extra
 * ignores, sync modes and path rules, three-way merge and pre-warm settings, shared by everyone who works
 * on the folder. Parsed here, where it enters; flags and `WARMSYNC_*` variables override it.
 *
 * The file syncs like any other, so a peer can change it. It therefore holds nothing that would
 * let a peer act on another machine beyond what a workspace write credential already allows:
 * no credentials, no package-manager scripts, no `.npmrc`. Those keys are refused by name.
 *
 * @example
 * const project = parseProjectFile(text, 'warmsync.toml');
 * project.workspace; // 'shop'
 */
import { parse, TomlError } from 'smol-toml';
import { z } from 'zod';
import { workspaceNameSchema } from './protocol.ts';
import { SYNC_MODES } from './sync-mode.ts';

export const PROJECT_FILE_NAME = 'warmsync.toml';

/** Keys a synced file must not set, each with the reason given to the user. */
const REFUSED_KEYS: Record<string, string> = {
  token: 'credentials never go in the project file, which syncs to every peer: use --token or WARMSYNC_TOKEN',
  allow_scripts:
    'a synced file cannot allow install scripts (a peer could run code here): pass --allow-scripts',
  npmrc: 'a synced file cannot choose an .npmrc (a peer could redirect npm): pass --npmrc FILE',
};

const modeSchema = z.enum(SYNC_MODES);

const pathRuleSchema = z
  .object({
    /** A gitignore-style pattern: `node_modules/`, `dist/**`, `*.log`. */
    path: z.string().min(1).max(4096),
    mode: modeSchema,
    /** Only agents started with `--role ROLE` follow the rule; every agent when absent. */
    role: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'roles are 1-64 of A-Z a-z 0-9 . _ -')
      .optional(),
  })
  .strict();

const projectSchema = z
  .object({
    server: z.string().min(1).max(4096).optional(),
    workspace: workspaceNameSchema.optional(),
    mode: modeSchema.optional(),
    ignore: z.array(z.string().min(1).max(4096)).max(10_000).optional(),
    sync_git: z.boolean().optional(),
    sync_node_modules: z.boolean().optional(),
    paths: z.array(pathRuleSchema).max(1_000).optional(),
    merge: z
      .object({
        enabled: z.boolean().optional(),
        max_bytes: z
          .number()
          .int()
          .min(0)
          .max(64 * 1024 * 1024)
          .optional(),
        except: z.array(z.string().min(1).max(4096)).max(1_000).optional(),
      })
      .strict()
      .optional(),
    prewarm: z
      .object({
        enabled: z.boolean().optional(),
        restore: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ProjectFile = z.infer<typeof projectSchema>;
export type PathRule = z.infer<typeof pathRuleSchema>;

/** A project file that cannot be used; `line` (1-based) is where the fault is, when known. */
export class ProjectFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${reason}`);
    this.name = 'ProjectFileError';
  }
}

/** Parses and validates the text of a project file; throws ProjectFileError naming the line. */
export function parseProjectFile(text: string, file: string = PROJECT_FILE_NAME): ProjectFile {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new ProjectFileError(file, error.line, `not valid TOML: ${reason}`);
    }
    throw error;
  }
  const refused = findRefusedKey(document);
  if (refused) throw new ProjectFileError(file, keyLine(text, refused.path), refused.reason);
  const result = projectSchema.safeParse(document);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map((part) => (typeof part === 'number' ? part : String(part)));
  const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const where = unknownKey === undefined ? path : [...path, unknownKey];
  const name = where.join('.') || '(file)';
  const reason = unknownKey === undefined ? issue.message : `unknown setting (see warmsync agent --help)`;
  throw new ProjectFileError(file, keyLine(text, where), `${name}: ${reason}`);
}

function findRefusedKey(document: unknown): { path: (string | number)[]; reason: string } | undefined {
  if (typeof document !== 'object' || document === null) return undefined;
  for (const [key, reason] of Object.entries(REFUSED_KEYS))
    if (Object.hasOwn(document, key)) return { path: [key], reason: `${key}: ${reason}` };
  const prewarm = (document as Record<string, unknown>).prewarm;
  if (typeof prewarm === 'object' && prewarm !== null)
    for (const [key, reason] of Object.entries(REFUSED_KEYS))
      if (Object.hasOwn(prewarm, key)) return { path: ['prewarm', key], reason: `prewarm.${key}: ${reason}` };
  return undefined;
}

/**
 * The line (1-based) that sets the value at `path`, or the nearest enclosing table's header.
 * A light scan of the text, enough for the flat files this format uses: `[table]`,
 * `[[array]]` (counted, so `paths.2.mode` finds the third `[[paths]]`), and `key = value` lines.
 */
export function keyLine(text: string, path: readonly (string | number)[]): number | undefined {
  const lines = text.split('\n');
  const arrayCounts = new Map<string, number>();
  let table: (string | number)[] = [];
  let best: { line: number; depth: number } | undefined;
  const consider = (at: (string | number)[], line: number) => {
    if (at.length === 0 || at.length > path.length) return;
    if (!at.every((part, i) => String(part) === String(path[i]))) return;
    if (!best || at.length > best.depth) best = { line, depth: at.length };
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const arrayHeader = /^\[\[\s*([^\]]+?)\s*\]\]/.exec(line);
    const tableHeader = arrayHeader ? null : /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (arrayHeader) {
      const name = arrayHeader[1]!;
      const index = arrayCounts.get(name) ?? 0;
      arrayCounts.set(name, index + 1);
      table = [...name.split('.').map(unquote), index];
      consider(table, i + 1);
    } else if (tableHeader) {
      table = tableHeader[1]!.split('.').map(unquote);
      consider(table, i + 1);
    } else {
      const key = /^("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=/.exec(line);
      if (key) consider([...table, ...key[1]!.split('.').map(unquote)], i + 1);
    }
  }
  return best?.line;
}

function unquote(part: string): string {
  const trimmed = part.trim();
  return /^(".*"|'.*')$/.test(trimmed) ? trimmed.slice(1, -1) : trimmed;
}
