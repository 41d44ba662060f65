/**
 * Finds the Debian mirror and suite this machine's apt uses, so that a test root filesystem comes from
 * the same place as the machine's own packages (a company mirror or a snapshot works unchanged).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One `deb` source: where packages come from and which suites it serves. */
export interface AptSource {
  uri: string;
  suites: string[];
}

/**
 * Parses one-line `sources.list` text: `deb [options] URI SUITE COMPONENT...`.
 *
 * @example parseOneLineSources('deb http://deb.debian.org/debian bookworm main')
 *   // [{ uri: 'http://deb.debian.org/debian', suites: ['bookworm'] }]
 */
export function parseOneLineSources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    // Options sit in one bracket group between `deb` and the URI.
    const words = line.replace(/\[[^\]]*\]/, ' ').split(/\s+/);
    if (words[0] !== 'deb' || words[1] === undefined || words[2] === undefined) continue;
    sources.push({ uri: words[1], suites: [words[2]] });
  }
  return sources;
}

/**
 * Parses deb822 `.sources` text: stanzas of `Types:`, `URIs:`, `Suites:` fields separated by blank lines.
 *
 * @example parseDeb822Sources('Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n')
 */
export function parseDeb822Sources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line.trim());
      if (match?.[1] && match[2] !== undefined) fields.set(match[1].toLowerCase(), match[2]);
    }
    const types = (fields.get('types') ?? '').split(/\s+/);
    if (!types.includes('deb') || fields.get('enabled') === 'no') continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) sources.push({ uri, suites });
  }
  return sources;
}

/** Every `deb` source configured under an apt configuration folder (default /etc/apt). */
export function readAptSources(aptDir = '/etc/apt'): AptSource[] {
  const sources: AptSource[] = [];
  const list = join(aptDir, 'sources.list');
  if (existsSync(list)) sources.push(...parseOneLineSources(readFileSync(list, 'utf8')));
  const dir = join(aptDir, 'sources.list.d');
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const text = readFileSync(join(dir, name), 'utf8');
      if (name.endsWith('.list')) sources.push(...parseOneLineSources(text));
      else if (name.endsWith('.sources')) sources.push(...parseDeb822Sources(text));
    }
  }
  return sources;
}

/**
 * The mirror and release suite to bootstrap from: the first source serving a release suite (not an
 * `-updates`, `-security` or `-backports` pocket) of this machine's own release, when it is known.
 */
export function chooseDebianMirror(
  sources: AptSource[],
  releaseCodename?: string,
): { mirror: string; suite: string } | undefined {
  const candidates = sources.flatMap((source) =>
    source.suites.filter((suite) => !suite.includes('-')).map((suite) => ({ mirror: source.uri, suite })),
  );
  return candidates.find((candidate) => candidate.suite === releaseCodename) ?? candidates[0];
}

/** This machine's release codename from /etc/os-release (e.g. `bookworm`), if it has one. */
export function hostReleaseCodename(osRelease = '/etc/os-release'): string | undefined {
  if (!existsSync(osRelease)) return undefined;
  return /^VERSION_CODENAME=(.*)$/m.exec(readFileSync(osRelease, 'utf8'))?.[1]?.replace(/"/g, '');
}
