/**
 * Reads the feature's metadata and turns option values into the environment `install.sh` receives, the
 * way a dev container tool does: every declared option, upper-cased, with its default unless given.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** The feature's source folder in this checkout. */
export const featureDir = join(import.meta.dir, '../../devcontainer-feature/src/warmsync-agent');

const optionSchema = z.object({
  type: z.enum(['string', 'boolean']),
  default: z.union([z.string(), z.boolean()]),
  description: z.string().min(1),
});

/** The parts of devcontainer-feature.json the tests rely on. */
export const featureSchema = z.object({
  id: z.string(),
  version: z.string().regex(/^\d+\.\d+\.\d+$/),
  name: z.string().min(1),
  description: z.string().min(1),
  documentationURL: z.url(),
  options: z.record(z.string(), optionSchema),
  containerEnv: z.record(z.string(), z.string()),
  postStartCommand: z.string().min(1),
});

export type FeatureMetadata = z.infer<typeof featureSchema>;

/** Parses the feature's devcontainer-feature.json. */
export function readFeature(dir = featureDir): FeatureMetadata {
  return featureSchema.parse(JSON.parse(readFileSync(join(dir, 'devcontainer-feature.json'), 'utf8')));
}

/**
 * The option environment for `install.sh`: option ids upper-cased with non-word characters replaced by
 * `_` (the spec's option resolution), each set to the given value or the option's default.
 *
 * @example optionEnvironment(readFeature(), { serverUrl: 'http://127.0.0.1:7420' }).SERVERURL
 */
export function optionEnvironment(
  feature: FeatureMetadata,
  values: Record<string, string | boolean>,
): Record<string, string> {
  for (const name of Object.keys(values)) {
    if (!(name in feature.options)) throw new Error(`the feature has no option '${name}'`);
  }
  const env: Record<string, string> = {};
  for (const [name, option] of Object.entries(feature.options)) {
    env[name.replace(/[^\w]/g, '_').toUpperCase()] = String(values[name] ?? option.default);
  }
  return env;
}
