/**
 * A PEP 503 simple index for tests, served by Bun on a loopback port, with wheels and source
 * distributions that the test builds itself with python3's zipfile and tarfile modules. Each
 * link carries a `#sha256=` fragment, which a test may make lie to play a tampered file.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A running index. */
export interface TestIndex {
  /** The simple index URL, for `--index-url`. */
  url: string;
  /** Builds `name-version` as a pure-Python wheel and lists it. */
  addWheel(name: string, version: string, options?: WheelOptions): Promise<string>;
  /** Builds a source distribution whose setup.py would touch `trace` if anything ran it. */
  addSdist(name: string, version: string, trace: string): Promise<void>;
  stop(): Promise<void>;
}

export interface WheelOptions {
  /** The distribution METADATA names; default `name` (differs to play a mislabelled file). */
  metadataName?: string;
  /** Serve these bytes in place of the wheel, keeping the real wheel's hash in the link. */
  tamper?: boolean;
}

interface Listed {
  file: string;
  bytes: Uint8Array;
  sha256: string;
}

const BUILD_WHEEL = `
import base64, hashlib, sys, zipfile
out, name, version, meta_name = sys.argv[1:5]
module = name.replace('-', '_')
info = f"{module}-{version}.dist-info"
files = {
    f"{module}/__init__.py": f"VERSION = {version!r}\\n",
    f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {meta_name}\\nVersion: {version}\\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: warmsync-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data.encode()).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data.encode())}"
record = "\\n".join([record_line(p, d) for p, d in files.items()] + [f"{info}/RECORD,,", ""])
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for path, data in files.items():
        z.writestr(path, data)
    z.writestr(f"{info}/RECORD", record)
`;

const BUILD_SDIST = `
import io, sys, tarfile
out, name, version, trace = sys.argv[1:5]
root = f"{name}-{version}"
setup = f"open({trace!r}, 'w').write('ran')\\nfrom setuptools import setup\\nsetup(name={name!r}, version={version!r})\\n"
pkg_info = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n"
with tarfile.open(out, "w:gz") as t:
    for path, data in ((f"{root}/setup.py", setup), (f"{root}/PKG-INFO", pkg_info)):
        info = tarfile.TarInfo(path)
        info.size = len(data.encode())
        t.addfile(info, io.BytesIO(data.encode()))
`;

function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Starts the index; call `stop()` in afterAll. */
export async function startIndex(): Promise<TestIndex> {
  const home = await mkdtemp(join(tmpdir(), 'warmsync-pypi-'));
  await mkdir(join(home, 'build'));
  const projects = new Map<string, Listed[]>();
  const served = new Map<string, Uint8Array<ArrayBuffer>>();
  const list = (name: string, entry: Listed, bytes: Uint8Array<ArrayBuffer>): void => {
    projects.set(normalize(name), [...(projects.get(normalize(name)) ?? []), entry]);
    served.set(entry.file, bytes);
  };
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      const project = /^\/simple\/([^/]+)\/$/.exec(path)?.[1];
      if (project !== undefined) {
        const files = projects.get(normalize(project));
        if (!files) return new Response('not found', { status: 404 });
        const links = files.map((f) => `<a href="/files/${f.file}#sha256=${f.sha256}">${f.file}</a><br/>`);
        const html = `<!DOCTYPE html><html><body>${links.join('\n')}</body></html>`;
        return new Response(html, { headers: { 'content-type': 'text/html' } });
      }
      const file = /^\/files\/([^/]+)$/.exec(path)?.[1];
      const bytes = file === undefined ? undefined : served.get(file);
      if (bytes) return new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } });
      return new Response('not found', { status: 404 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/simple/`,
    async addWheel(name, version, options = {}) {
      const file = `${name.replace(/-/g, '_')}-${version}-py3-none-any.whl`;
      const path = join(home, 'build', file);
      await run('python3', ['-c', BUILD_WHEEL, path, name, version, options.metadataName ?? name]);
      const bytes = new Uint8Array(await readFile(path));
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const servedBytes = options.tamper ? Uint8Array.from([...bytes, 0]) : bytes;
      list(name, { file, bytes, sha256 }, servedBytes);
      return path;
    },
    async addSdist(name, version, trace) {
      const file = `${name}-${version}.tar.gz`;
      const path = join(home, 'build', file);
      await run('python3', ['-c', BUILD_SDIST, path, name, version, trace]);
      const bytes = new Uint8Array(await readFile(path));
      list(name, { file, bytes, sha256: createHash('sha256').update(bytes).digest('hex') }, bytes);
    },
    async stop() {
      server.stop(true);
      await rm(home, { recursive: true, force: true });
    },
  };
}
