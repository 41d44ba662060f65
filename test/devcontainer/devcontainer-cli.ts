/**
 * The real devcontainer CLI (`@devcontainers/cli`, a dev dependency) and the feature as it hands it a
 * local feature: a folder copied next to `devcontainer.json`, with `npm pack` of this checkout inside
 * it as the `version` (install.sh runs in the feature's folder, so a relative path reaches it).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { featureDir } from './feature-env.ts';
import { MINUTE, repoRoot } from './harness.ts';
import type { CommandResult } from './rootfs.ts';

/** The CLI's entry point; run with the Node that runs npm. */
export const devcontainerCli = join(repoRoot, 'node_modules/@devcontainers/cli/devcontainer.js');

/**
 * Copies the feature into `destination` with the package tarball beside its scripts, and returns the
 * `version` option that names it.
 *
 * The copy drops `installsAfter`: the CLI fetches the metadata of every feature named there from its
 * registry (ghcr.io) even when the configuration does not use it, which fails without registry
 * access. It only orders features, and these tests install no other.
 */
export function copyFeature(destination: string, tarball: string): string {
  cpSync(featureDir, destination, { recursive: true });
  const metadataPath = join(destination, 'devcontainer-feature.json');
  const metadata = JSON.parse(readFileSync(metadataPath, 'utf8')) as Record<string, unknown>;
  delete metadata.installsAfter;
  writeFileSync(metadataPath, `${JSON.stringify(metadata, null, 2)}\n`);
  cpSync(tarball, join(destination, basename(tarball)));
  return `./${basename(tarball)}`;
}

/** Runs the devcontainer CLI with `args`, collecting its output; never throws on a non-zero exit. */
export async function runDevcontainer(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number; onOutput?: (text: string) => void } = {},
): Promise<CommandResult> {
  const node = Bun.which('node');
  if (!node) throw new Error('the devcontainer CLI needs Node on PATH');
  const child = Bun.spawn([node, devcontainerCli, ...args], {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 10 * MINUTE,
  });
  const read = async (stream: ReadableStream<Uint8Array>) => {
    let text = '';
    const decoder = new TextDecoder();
    for await (const part of stream) {
      const piece = decoder.decode(part, { stream: true });
      text += piece;
      options.onOutput?.(piece);
    }
    return text;
  };
  const [stdout, stderr, exitCode] = await Promise.all([
    read(child.stdout),
    read(child.stderr),
    child.exited,
  ]);
  return { exitCode, stdout, stderr };
}
