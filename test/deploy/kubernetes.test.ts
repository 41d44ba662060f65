/**
 * The Kubernetes manifests of deploy/kubernetes: each valid against the Kubernetes API schema of
 * its kind (so a misspelt field or a wrong type fails), wired together (selectors, ports, Secret
 * and ConfigMap keys), hardened, and with a command line that starts a real hub replica.
 */
import { afterAll, describe, expect, it } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/harness.ts';
import { freePort, startCli, stopAllCli, waitHealthy } from '../helpers/processes.ts';
import { startPostgres, startRedis, startS3, stopAllServices } from '../helpers/services.ts';
import { KUBERNETES_DIR, kubernetesValidator, only, readKustomization, readManifests } from './manifests.ts';

afterAll(async () => {
  await stopAllCli();
  await stopAllServices();
});

interface Container {
  name: string;
  args: string[];
  ports: Array<{ name: string; containerPort: number; protocol?: string }>;
  env: Array<{
    name: string;
    value?: string;
    valueFrom?: { configMapKeyRef?: { name: string; key: string } };
  }>;
  envFrom: Array<{ secretRef?: { name: string } }>;
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown> & { capabilities: { drop: string[] } };
  volumeMounts: Array<{ mountPath: string }>;
}

interface Deployment {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { securityContext: Record<string, unknown>; containers: Container[] };
    };
  };
}

const manifests = readManifests();
const validate = kubernetesValidator();
const deployment = only<Deployment>(manifests, 'Deployment');
const hub = deployment.spec.template.spec.containers[0] as Container;
const configMap = only<{ data: Record<string, string> }>(manifests, 'ConfigMap');
const secret = only<{ stringData: Record<string, string> }>(manifests, 'Secret');

function clone<T>(value: T): T {
  return structuredClone(value);
}

describe('Kubernetes manifests', () => {
  it('list every manifest file of the folder in kustomization.yaml', () => {
    const files = readdirSync(KUBERNETES_DIR).filter(
      (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml',
    );
    expect(readKustomization().resources.sort()).toEqual(files.sort());
  });

  for (const manifest of manifests) {
    it(`${manifest.file}: ${manifest.kind} ${manifest.metadata.name} is valid for the Kubernetes API`, () => {
      expect(validate(manifest)).toEqual([]);
    });
  }

  // kustomize's output (namespace, labels and image applied) is what reaches the cluster.
  const kubectl = Bun.which('kubectl');
  it.skipIf(!kubectl)('build with kubectl kustomize into manifests that are valid too', () => {
    const run = Bun.spawnSync([kubectl ?? 'kubectl', 'kustomize', KUBERNETES_DIR], {
      stdout: 'pipe',
      stderr: 'pipe',
    });
    expect(run.stderr.toString()).toBe('');
    const built = Bun.YAML.parse(run.stdout.toString()) as Array<{
      kind: string;
      metadata: { namespace?: string };
    }>;
    expect(built.map((m) => m.kind).sort()).toEqual(manifests.map((m) => m.kind).sort());
    for (const manifest of built) {
      expect(validate(manifest)).toEqual([]);
      if (manifest.kind !== 'Namespace') expect(manifest.metadata.namespace).toBe('warmsync');
    }
  });

  it('are refused with a misspelt field, a wrong type, a missing field or an unknown kind', () => {
    const misspelt = clone(deployment) as unknown as { spec: Record<string, unknown> };
    misspelt.spec.replicsa = misspelt.spec.replicas;
    delete misspelt.spec.replicas;
    expect(validate(misspelt)).toEqual(['/spec: unknown field "replicsa"']);

    const wrongType = clone(deployment) as unknown as { spec: Record<string, unknown> };
    wrongType.spec.replicas = 'three';
    expect(validate(wrongType)).toEqual(['/spec/replicas: must be number']);

    const deepTypo = clone(deployment);
    (deepTypo.spec.template.spec.containers[0] as unknown as Record<string, unknown>).readinesProbe = {};
    expect(validate(deepTypo)).toEqual(['/spec/template/spec/containers/0: unknown field "readinesProbe"']);

    const noSelector = clone(deployment) as unknown as { spec: Record<string, unknown> };
    delete noSelector.spec.selector;
    expect(validate(noSelector)).toEqual(["/spec: must have required property 'selector'"]);

    expect(validate({ ...clone(deployment), apiVersion: 'apps/v1beta1' })).toEqual([
      'no schema for apiVersion apps/v1beta1, kind Deployment',
    ]);
  });

  it('select the hub pods from the Service, the PodDisruptionBudget and the autoscaler', () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(labels).toMatchObject(deployment.spec.selector.matchLabels);
    const service = only<{
      spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> };
    }>(manifests, 'Service');
    expect(labels).toMatchObject(service.spec.selector);
    expect(hub.ports.map((p) => p.name)).toContain(service.spec.ports[0]?.targetPort ?? '');
    const pdb = only<{ spec: { selector: { matchLabels: Record<string, string> } } }>(
      manifests,
      'PodDisruptionBudget',
    );
    expect(labels).toMatchObject(pdb.spec.selector.matchLabels);
    const hpa = only<{ spec: { scaleTargetRef: { kind: string; name: string } } }>(
      manifests,
      'HorizontalPodAutoscaler',
    );
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
  });

  it('autoscale from 3 to 12 replicas on p95 sync latency per pod, with CPU as the fallback', () => {
    const hpa = only<{
      spec: {
        minReplicas: number;
        maxReplicas: number;
        metrics: Array<{ type: string; pods?: unknown; resource?: { name: string } }>;
      };
    }>(manifests, 'HorizontalPodAutoscaler');
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 12 });
    expect(hpa.spec.metrics.map((m) => m.type)).toEqual(['Pods', 'Resource']);
    expect(hpa.spec.metrics[0]?.pods).toMatchObject({
      metric: { name: 'workspace_sync_duration_seconds_p95' },
      target: { type: 'AverageValue', averageValue: '40m' },
    });
    expect(hpa.spec.metrics[1]?.resource?.name).toBe('cpu');
  });

  it('probe /healthz on the hub port for readiness and liveness', () => {
    for (const probe of [hub.readinessProbe, hub.livenessProbe]) {
      expect(probe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    }
    expect(hub.ports).toEqual([{ name: 'http', containerPort: 7420, protocol: 'TCP' }]);
  });

  it('run as non-root on a read-only root file system with no capabilities, within limits', () => {
    expect(deployment.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(hub.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(hub.volumeMounts.map((m) => m.mountPath).sort()).toEqual(['/tmp', '/var/lib/warmsync']);
    expect(Object.keys(hub.resources.requests).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(hub.resources.limits).sort()).toEqual(['cpu', 'memory']);
  });

  it('take credentials from a Secret whose template holds placeholders only', () => {
    const text = readFileSync(join(KUBERNETES_DIR, 'secret.yaml'), 'utf8');
    expect(text).toMatch(/^# TEMPLATE WITH PLACEHOLDER VALUES/);
    expect(Object.keys(secret.stringData).sort()).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'WARMSYNC_POSTGRES',
      'WARMSYNC_TOKEN',
    ]);
    for (const [key, value] of Object.entries(secret.stringData)) {
      expect({ key, placeholder: value.includes('REPLACE-ME') }).toEqual({ key, placeholder: true });
    }
    expect(hub.envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
    // No credential sits in the ConfigMap or the Deployment itself.
    expect(JSON.stringify([configMap, deployment])).not.toMatch(/TOKEN|PASSWORD|SECRET_ACCESS/);
  });

  it('use only flags and environment variables that warmsync serve knows', () => {
    const run = startCli(['serve', '--help']);
    return run.finished().then((help) => {
      for (const flag of hub.args.filter((a) => a.startsWith('--'))) expect(help).toContain(`  ${flag} `);
      const hubEnv = [...Object.keys(secret.stringData), ...hub.env.map((e) => e.name)].filter(
        (name) => !name.startsWith('HUB_') && !name.startsWith('BUN_'),
      );
      for (const name of hubEnv) expect(help).toContain(name);
      for (const ref of hub.env.flatMap((e) =>
        e.valueFrom?.configMapKeyRef ? [e.valueFrom.configMapKeyRef] : [],
      )) {
        expect({ ref, present: ref.key in configMap.data }).toEqual({ ref, present: true });
      }
      for (const used of hub.args.flatMap((a) => [...a.matchAll(/\$\((\w+)\)/g)].map((m) => m[1]))) {
        expect(hub.env.map((e) => e.name)).toContain(used ?? '');
      }
    });
  });

  it('start a hub replica on PostgreSQL, Redis and S3 from the container command line', async () => {
    const [postgres, redis, s3] = await Promise.all([
      startPostgres(),
      startRedis(),
      startS3('warmsync-chunks'),
    ]);
    const port = await freePort();
    // The Deployment's environment, with the cluster's services replaced by the local ones.
    const values: Record<string, string> = {
      ...configMap.data,
      ...secret.stringData,
      WARMSYNC_TOKEN: 'replica-admin-token',
      WARMSYNC_POSTGRES: postgres.url,
      WARMSYNC_REDIS: redis.url,
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      chunks: `s3://${s3.bucket}/prod`,
    };
    const env: Record<string, string> = {};
    for (const key of Object.keys(secret.stringData)) env[key] = values[key] ?? '';
    for (const entry of hub.env) {
      const ref = entry.valueFrom?.configMapKeyRef;
      env[entry.name] = (ref ? values[ref.key] : entry.value) ?? '';
    }
    const data = tempDir('warmsync-replica-');
    const args = hub.args
      .map((a) => a.replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? ''))
      .map((a, i, all) => (all[i - 1] === '--port' ? String(port) : all[i - 1] === '--data' ? data : a));
    const replica = startCli(args, { env });
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, 30_000).catch((error) => {
      throw new Error(`${(error as Error).message}\n${replica.output()}`);
    });
    const health = await (await fetch(`${url}/healthz`)).json();
    expect(health).toEqual({ ok: true, services: { postgres: 'up', redis: 'up', chunks: 'up' } });
    const metrics = await fetch(`${url}/metrics`, {
      headers: { authorization: 'Bearer replica-admin-token' },
    });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE workspace_sync_duration_seconds histogram');
    // --allow-host from the ConfigMap: the Service's name is answered, another name is refused.
    const asHost = (host: string) =>
      fetch(`${url}/v1/status`, { headers: { host, authorization: 'Bearer replica-admin-token' } });
    expect((await asHost(configMap.data['allow-host'] ?? '')).status).toBe(200);
    expect((await asHost('elsewhere.example.com')).status).toBe(403);
  }, 120_000);
});
