/**
 * The Kubernetes manifests of deploy/kubernetes, read as kustomize would list them, and a
 * validator against the Kubernetes API schemas of the kinds they use (vendored in
 * test/fixtures/kubernetes, see its README: strict, so an unknown field is an error).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { readYamlDocuments } from './yaml.ts';

export const KUBERNETES_DIR = join(import.meta.dir, '..', '..', 'deploy', 'kubernetes');
const SCHEMA = join(import.meta.dir, '..', 'fixtures', 'kubernetes', 'schema.json');

export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export function readKustomization(): { resources: string[]; [field: string]: unknown } {
  const [doc] = readYamlDocuments(join(KUBERNETES_DIR, 'kustomization.yaml'));
  return doc as { resources: string[] };
}

/** The resources the kustomization lists, every document of each, tagged with its file. */
export function readManifests(): Manifest[] {
  return readKustomization().resources.flatMap((file) =>
    readYamlDocuments(join(KUBERNETES_DIR, file)).map((doc) => ({ ...(doc as Manifest), file })),
  );
}

/** The one manifest of `kind`; throws when there is none or several. */
export function only<T = Manifest>(manifests: Manifest[], kind: string): T & Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as T & Manifest;
}

export type Validate = (manifest: unknown) => string[];

/**
 * A validator for the vendored kinds: the errors of one manifest as `path: message` lines, empty
 * when it is valid. A kind the schema does not know is an error too.
 */
export function kubernetesValidator(): Validate {
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as {
    definitions: { Kinds: { properties: Record<string, { $ref: string }> } };
  };
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addSchema(schema, 'kubernetes');
  const byKind = new Map<string, ValidateFunction>();
  for (const [key, { $ref }] of Object.entries(schema.definitions.Kinds.properties)) {
    const validate = ajv.getSchema(`kubernetes${$ref}`);
    if (!validate) throw new Error(`the schema has no ${$ref}`);
    byKind.set(key, validate);
  }
  return (manifest) => {
    const { apiVersion, kind } = (manifest ?? {}) as { apiVersion?: unknown; kind?: unknown };
    const validate = byKind.get(`${String(apiVersion)}/${String(kind)}`);
    if (!validate) return [`no schema for apiVersion ${String(apiVersion)}, kind ${String(kind)}`];
    const { file: _file, ...object } = manifest as Record<string, unknown>;
    if (validate(object)) return [];
    return (validate.errors ?? []).map(describeError);
  };
}

function describeError(error: ErrorObject): string {
  const where = error.instancePath || '/';
  if (error.keyword === 'additionalProperties') {
    return `${where}: unknown field "${String(error.params.additionalProperty)}"`;
  }
  return `${where}: ${error.message ?? error.keyword}`;
}
