/** Reads deploy/ YAML files with Bun's own YAML parser, so no parser dependency is needed. */
import { readFileSync } from 'node:fs';

/** Every document of a YAML file (Bun's parser returns an array for a multi-document file). */
export function readYamlDocuments(path: string): unknown[] {
  const text = readFileSync(path, 'utf8');
  const parsed: unknown = Bun.YAML.parse(text);
  return /^---\s*$/m.test(text) && Array.isArray(parsed) ? parsed : [parsed];
}
