/**
 * Checks that a downloaded file is the wheel it claims to be before it is published: its name
 * follows the wheel naming convention, it is a zip whose one top-level `.dist-info` folder holds
 * METADATA and WHEEL, the METADATA names the same distribution and version as the file name,
 * that distribution is the one asked for, and no entry could land outside an install folder.
 * Reading a wheel runs nothing from it.
 */
import { basename } from 'node:path';
import { normalizeDistribution } from './python-distributions.ts';
import { openZip } from './zip-read.ts';

/** What a valid wheel is. */
export interface WheelIdentity {
  file: string;
  name: string;
  version: string;
}

/** `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`, per the binary distribution format. */
const WHEEL_NAME = /^([^-]+)-([^-]+)(?:-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$/;

/** A PEP 440 version compared loosely: case, a leading `v`, separators and trailing `.0`s ignored. */
export function normalizeVersion(version: string): string {
  const lowered = version.trim().toLowerCase().replace(/^v/, '').replace(/[-_]/g, '.');
  const match = /^(\d+(?:\.\d+)*)(.*)$/.exec(lowered);
  if (!match) return lowered;
  const release = (match[1] ?? '').split('.').map(Number);
  while (release.length > 1 && release[release.length - 1] === 0) release.pop();
  return `${release.join('.')}${match[2] ?? ''}`;
}

function header(metadata: string, field: string): string | undefined {
  // Headers end at the first blank line; the description may follow.
  const head = metadata.split(/\r?\n\r?\n/)[0] ?? '';
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${field.toLowerCase()}:`));
  return line?.slice(field.length + 1).trim();
}

/**
 * Resolves with the wheel's identity, or rejects with one sentence saying what is wrong.
 * `expectedName` is the distribution asked for; `pinned`, when given, the only acceptable version.
 *
 * @example
 * await checkWheel('/run/dest/demo-1.0-py3-none-any.whl', 'demo'); // { name: 'demo', version: '1.0', ... }
 */
export async function checkWheel(
  path: string,
  expectedName: string,
  pinned?: string,
): Promise<WheelIdentity> {
  const file = basename(path);
  const parsed = WHEEL_NAME.exec(file);
  if (!parsed?.[1] || !parsed[2]) throw new Error(`${file} is not named like a wheel`);
  const [fileName, fileVersion] = [parsed[1], parsed[2]];
  if (normalizeDistribution(fileName) !== normalizeDistribution(expectedName))
    throw new Error(`${file} is not a wheel of ${expectedName}`);
  const zip = await openZip(path).catch((error: Error) => {
    throw new Error(`${file} is not a valid wheel: ${error.message}`);
  });
  try {
    const unsafe = zip.entries.find(
      (entry) =>
        entry.name.startsWith('/') || entry.name.includes('\\') || entry.name.split('/').includes('..'),
    );
    if (unsafe) throw new Error(`${file} holds an entry outside its install folder: ${unsafe.name}`);
    const infoFolders = new Set(
      zip.entries.map((entry) => entry.name.split('/')[0] ?? '').filter((top) => top.endsWith('.dist-info')),
    );
    if (infoFolders.size !== 1) throw new Error(`${file} must hold exactly one .dist-info folder`);
    const infoFolder = [...infoFolders][0] as string;
    const metadataEntry = zip.entries.find((entry) => entry.name === `${infoFolder}/METADATA`);
    if (!metadataEntry) throw new Error(`${file} has no ${infoFolder}/METADATA`);
    if (!zip.entries.some((entry) => entry.name === `${infoFolder}/WHEEL`))
      throw new Error(`${file} has no ${infoFolder}/WHEEL`);
    const metadata = new TextDecoder().decode(await zip.read(metadataEntry));
    const name = header(metadata, 'Name');
    const version = header(metadata, 'Version');
    if (!name || !version) throw new Error(`${file}: METADATA names no distribution or version`);
    const sameName = normalizeDistribution(name) === normalizeDistribution(fileName);
    const sameVersion = normalizeVersion(version) === normalizeVersion(fileVersion);
    const folderMatches =
      normalizeDistribution(infoFolder.replace(/\.dist-info$/, '')) ===
      normalizeDistribution(`${fileName}-${fileVersion}`);
    if (!sameName || !sameVersion || !folderMatches)
      throw new Error(`${file}: METADATA says ${name} ${version}, which its name does not`);
    if (pinned !== undefined && normalizeVersion(version) !== normalizeVersion(pinned))
      throw new Error(`${file} is version ${version}, not the pinned ${pinned}`);
    return { file, name, version };
  } finally {
    await zip.close();
  }
}
