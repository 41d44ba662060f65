/**
 * A Go module proxy for tests: a folder in the GOPROXY protocol's layout (MODULE/@v/list,
 * VERSION.info, VERSION.mod, VERSION.zip with every path under `module@version/`), served to go
 * as `file://`. The zips are written by python3's zipfile module.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const WRITE_ZIP = `
import json, sys, zipfile
out, prefix, files = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name, text in files.items():
        z.writestr(prefix + name, text)
`;

/** The proxy folder's URL, for GOPROXY. */
export function proxyUrl(folder: string): string {
  return `file://${folder}`;
}

/**
 * Adds `module@version` to the proxy at `folder`: a go.mod and one Go file declaring package
 * `name` with a constant `Version`. Module paths here are lower case, so need no escaping.
 */
export async function addModule(folder: string, module: string, version: string): Promise<void> {
  const at = join(folder, module, '@v');
  await mkdir(at, { recursive: true });
  const name = module.split('/').pop() ?? 'mod';
  const goMod = `module ${module}\n\ngo 1.19\n`;
  const source = `package ${name}\n\nconst Version = "${version}"\n`;
  await writeFile(
    join(at, `${version}.info`),
    JSON.stringify({ Version: version, Time: '2024-01-01T00:00:00Z' }),
  );
  await writeFile(join(at, `${version}.mod`), goMod);
  const files = JSON.stringify({ 'go.mod': goMod, [`${name}.go`]: source });
  await run('python3', ['-c', WRITE_ZIP, join(at, `${version}.zip`), `${module}@${version}/`, files]);
  await appendFile(join(at, 'list'), `${version}\n`);
}
