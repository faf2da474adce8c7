// deploy/k8s is checked by reading (no cluster on the development machines): every manifest parses,
// the head-end's environment is made of config keys and validates against the schema it checks at
// start, names and ports line up between Deployment, Service, probes and the services it talks to,
// labels match selectors, and images are those of docker-compose.yml.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, existsSync, mkdtempSync, cpSync, copyFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig, CONFIG_KEYS } from '@amr/headend';
import { redisUrlFromConfig, parseSentinelUrl } from '@amr/headend/jobs/redis-connection';
import { openReadDb } from '@amr/headend/db/read-replica';
import { createPgDb } from '@amr/headend';
import { JobRunner } from '@amr/headend/jobs/index';
import { pino } from 'pino';
import { z } from 'zod';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../headend/test/free-port.js';
import { PG_BIN, TIMESCALEDB_IMAGE } from '../headend/test/pg-server.js';

const dir = new URL('../deploy/k8s/', import.meta.url);
const read = (f: string) => readFileSync(new URL(f, dir), 'utf8');

/** Keys proposed for headend/src/config/schema.ts; accepted here until the schema has them (and then
 *  validated by it). Delete this list once they are in CONFIG_KEYS. */
/** The keys the scale-out setup depends on (read replica, Redis Sentinel). */
const SCALE_OUT_KEYS = ['DATABASE_READ_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_PASSWORD'];
const KNOWN = new Set<string>(CONFIG_KEYS as readonly string[]);

type Labels = Record<string, string>;
type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Labels } };
// The parts of the Kubernetes objects these tests read, by kind: a deliberately partial model of the API.
interface K8sPort { name?: string; port?: number; containerPort?: number; targetPort?: number | string }
interface K8sProbe { httpGet: { path: string; port: number | string } }
interface K8sContainer {
  name: string; image: string; args: string[]; command?: string[]; ports: K8sPort[]; resources: { requests: { cpu?: string } };
  readinessProbe: K8sProbe; livenessProbe: K8sProbe; startupProbe: K8sProbe;
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
}
interface PodTemplate { metadata: { labels: Labels; annotations: Labels }; spec: { containers: K8sContainer[]; initContainers?: K8sContainer[]; restartPolicy?: string; terminationGracePeriodSeconds?: number } }
interface Workload { spec: { replicas: number; selector: { matchLabels: Labels }; template: PodTemplate; serviceName: string } }
interface Kinds {
  Deployment: Workload;
  StatefulSet: Workload;
  Job: { spec: { template: PodTemplate } };
  Service: { spec: { selector: Labels; ports: K8sPort[]; clusterIP?: string } };
  ConfigMap: { data: Labels };
  HorizontalPodAutoscaler: { spec: { scaleTargetRef: unknown; minReplicas: number; maxReplicas: number; metrics: { resource: { name: string } }[] } };
  PodDisruptionBudget: { spec: { maxUnavailable: number; selector: { matchLabels: Labels } } };
}
/** A document of one of the kinds above (distributes over a union of kinds, so `kind` narrows it). */
type Of<K extends keyof Kinds> = K extends keyof Kinds ? Doc & { kind: K; file: string } & Kinds[K] : never;

const kustomization = parse(read('kustomization.yaml'));
const docs: (Doc & { file: string })[] = (kustomization.resources as string[]).flatMap((file) =>
  parseAllDocuments(read(file)).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return { ...(d.toJS() as Doc), file };
  }),
);
const find = <K extends keyof Kinds>(kind: K, name: string): Of<K> => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!d) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return d as Of<K>; // its kind was checked; its shape is the manifest's, checked by the tests that read it
};
const ofKind = <K extends keyof Kinds>(...kinds: K[]): Of<K>[] => docs.filter((d) => (kinds as string[]).includes(d.kind)) as Of<K>[];
const parseEnvFile = (f: string) =>
  Object.fromEntries(
    read(f)
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  ) as Record<string, string>;
/** A generated secret's keys and values, from the committed example of its env file. */
const secretData = (name: string): Record<string, string> => {
  const gen = (kustomization.secretGenerator as { name: string; envs: string[] }[]).find((g) => g.name === name);
  if (!gen) throw new Error(`no secretGenerator ${name}`);
  return Object.assign({}, ...gen.envs.map((e) => parseEnvFile(`${e}.example`)));
};

const deployment = find('Deployment', 'amr-headend');
const job = find('Job', 'amr-headend-migrate');
const podSpec = (w: Of<'Deployment' | 'StatefulSet' | 'Job'>) => w.spec.template.spec;
const headendContainer = podSpec(deployment).containers[0];
/** The environment a head-end container gets: envFrom ConfigMaps and Secrets, then env. */
function containerEnv(c: K8sContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const src of c.envFrom ?? []) {
    if (src.configMapRef) Object.assign(env, find('ConfigMap', src.configMapRef.name).data);
    if (src.secretRef) Object.assign(env, secretData(src.secretRef.name));
  }
  for (const e of c.env ?? []) {
    // The pod name (a Deployment pod's, at its longest) stands for fieldRef metadata.name.
    env[e.name] = e.value ?? (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name' ? 'amr-headend-5d8f7c9b6d-x2k4p' : '');
  }
  return env;
}
const env = containerEnv(headendContainer);
const cfg = loadConfig(env);
const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'));
const imageName = (image: string) => image.replace(/:[^:/]+$/, '');

describe('deploy/k8s manifests', () => {
  it('lists every manifest in kustomization.yaml; each parses, is namespace-free and labelled', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
    expect([...kustomization.resources].sort()).toEqual(files);
    expect(kustomization.namespace).toBeUndefined();
    for (const d of docs) {
      expect(d.apiVersion, `${d.file} ${d.kind}`).toBeTruthy();
      expect(d.metadata.name, `${d.file} ${d.kind}`).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(d.metadata.namespace, `${d.kind} ${d.metadata.name}`).toBeUndefined();
      expect(d.metadata.labels?.['app.kubernetes.io/part-of'], `${d.kind} ${d.metadata.name}`).toBe('amr');
    }
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`);
    for (const k of ['Deployment/amr-headend', 'Service/amr-headend', 'PodDisruptionBudget/amr-headend', 'HorizontalPodAutoscaler/amr-headend', 'Job/amr-headend-migrate', 'StatefulSet/emqx', 'StatefulSet/redis', 'StatefulSet/timescaledb-primary', 'StatefulSet/timescaledb-replica']) {
      expect(kinds).toContain(k);
    }
  });

  it('gives the head-end only config keys, and they validate', () => {
    for (const c of [headendContainer, podSpec(job).containers[0]]) {
      const unknown = Object.keys(containerEnv(c)).filter((k) => !KNOWN.has(k));
      expect(unknown, c.name).toEqual([]);
    }
    for (const k of SCALE_OUT_KEYS) expect(env[k], `${k} is set`).toBeTruthy();
    expect(cfg.MQTT_CLIENT_ID).toBe('amr-headend-5d8f7c9b6d-x2k4p');
    // loadConfig above validated them; they come back typed.
    for (const k of SCALE_OUT_KEYS) {
      expect(CONFIG_KEYS as readonly string[], k).toContain(k);
      expect((cfg as Record<string, unknown>)[k], k).toBeDefined();
    }
  });

  it('scales the head-end by replicas with a PDB and a CPU HPA on the Deployment', () => {
    expect(deployment.spec.replicas).toBe(3);
    const hpa = find('HorizontalPodAutoscaler', 'amr-headend');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'amr-headend' });
    expect(hpa.spec.minReplicas).toBe(deployment.spec.replicas);
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    expect(headendContainer.resources.requests.cpu).toBeTruthy(); // Utilization needs a CPU request
    expect(find('PodDisruptionBudget', 'amr-headend').spec.maxUnavailable).toBe(1);
    // Pool size × max replicas stays below the primary's max_connections (minus the migrate Job and admin).
    const args = podSpec(find('StatefulSet', 'timescaledb-primary')).containers[0].args;
    const maxConn = Number(args.find((a) => a.startsWith('max_connections='))!.split('=')[1]);
    expect(cfg.DB_POOL_MAX * hpa.spec.maxReplicas + 5).toBeLessThanOrEqual(maxConn);
  });

  it('uses one HTTP port for the container, the Service, the probes and the metrics annotation', () => {
    const http = headendContainer.ports.find((p) => p.name === 'http')!;
    expect(http.containerPort).toBe(cfg.HTTP_PORT);
    const svc = find('Service', 'amr-headend');
    const target = svc.spec.ports[0].targetPort;
    expect(target === 'http' || target === cfg.HTTP_PORT).toBe(true);
    // Readiness asks the dependencies; liveness (and start-up, which gates it) only the process.
    const paths = { readinessProbe: '/health/ready', livenessProbe: '/health/live', startupProbe: '/health/live' } as const;
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
      const p = headendContainer[probe].httpGet;
      expect(p.path, probe).toBe(paths[probe]);
      expect([http.name, http.containerPort], probe).toContain(p.port);
    }
    expect(Number(deployment.spec.template.metadata.annotations['prometheus.io/port'])).toBe(cfg.HTTP_PORT);
    // The kubelet kills after the grace period: it must outlast the head-end's bounded shutdown.
    expect(podSpec(deployment).terminationGracePeriodSeconds).toBeGreaterThan(cfg.SHUTDOWN_TIMEOUT_SECONDS);
  });

  it('points MQTT_URL at the EMQX Service, whose port reaches EMQX 1883, with a share group, and EMQX asking the head-end\'s hooks', () => {
    const u = new URL(cfg.MQTT_URL!);
    const svc = find('Service', u.hostname);
    const port = svc.spec.ports.find((p) => p.port === Number(u.port))!;
    expect(port, `${u.hostname} has port ${u.port}`).toBeDefined();
    const emqx = find('StatefulSet', 'emqx');
    expect(emqx.spec.replicas).toBe(3);
    expect(svc.spec.selector).toEqual(emqx.spec.selector.matchLabels);
    const cport = podSpec(emqx).containers[0].ports.find((p) => p.name === port.targetPort || p.containerPort === port.targetPort)!;
    expect(cport.containerPort).toBe(1883);
    const all = podSpec(emqx).containers[0].ports.map((p) => p.containerPort);
    expect(all).toEqual(expect.arrayContaining([1883, 8883, 18083]));
    expect(find('Service', emqx.spec.serviceName).spec.clusterIP).toBe('None');
    expect(cfg.MQTT_SHARE_GROUP).toBeTruthy();
    // EMQX asks the head-end's hooks, on its Service, with the token both read from the head-end's Secret.
    expect(cfg.MQTT_BROKER_AUTH).toBe('emqx-http');
    const hocon = find('ConfigMap', 'emqx-config').data['base.hocon'];
    const api = find('Service', 'amr-headend').spec.ports.find((p) => p.name === 'http' || p.port === cfg.HTTP_PORT)!;
    for (const hook of ['authn', 'authz']) expect(hocon).toContain(`url = "http://amr-headend:${api.port}/mqtt/emqx/${hook}"`);
    expect(hocon.match(/"X-Amr-Hook-Token" = \$\{AMR_HOOK_TOKEN\}/g)).toHaveLength(2);
    const tokenEnv = (podSpec(emqx).containers[0].env ?? []).find((e) => e.name === 'AMR_HOOK_TOKEN') as { valueFrom?: { secretKeyRef?: { name: string; key: string } } } | undefined;
    expect(tokenEnv?.valueFrom?.secretKeyRef).toEqual({ name: 'amr-headend-secrets', key: 'MQTT_HOOK_TOKEN' });
    expect(secretData('amr-headend-secrets').MQTT_HOOK_TOKEN).toBe(cfg.MQTT_HOOK_TOKEN);
  });

  it('reaches Redis through the sentinels of the redis StatefulSet, under the master name they monitor', () => {
    const url = redisUrlFromConfig({ ...env, REDIS_URL: cfg.REDIS_URL });
    const target = parseSentinelUrl(url);
    const redis = find('StatefulSet', 'redis');
    expect(redis.spec.replicas).toBe(3);
    const headless = find('Service', redis.spec.serviceName);
    const pods = Array.from({ length: redis.spec.replicas }, (_, i) => `redis-${i}.${headless.metadata.name}`);
    expect(target.sentinels.map((s) => s.host).sort()).toEqual(pods);
    const sentinelPort = headless.spec.ports.find((p) => p.name === 'sentinel')!.port;
    for (const s of target.sentinels) expect(s.port).toBe(sentinelPort);
    expect(podSpec(redis).containers.map((c) => c.name).sort()).toEqual(['redis', 'sentinel']);
    const script = find('ConfigMap', 'redis-scripts').data['init.sh'];
    expect(script).toContain(`sentinel monitor ${target.name} `);
    expect(script).toContain(`get-master-addr-by-name ${target.name}`);
    expect(script).toContain('maxmemory-policy noeviction'); // bullmq
    expect(env.REDIS_PASSWORD).toBe(secretData('amr-infra-secrets').REDIS_PASSWORD);
  });

  it('writes to the TimescaleDB primary and reads dashboards from the replica, with matching passwords', () => {
    const primary = new URL(cfg.DATABASE_URL!);
    const replica = new URL(env.DATABASE_READ_URL);
    expect(find('Service', primary.hostname).spec.selector).toEqual(find('StatefulSet', 'timescaledb-primary').spec.selector.matchLabels);
    expect(find('Service', replica.hostname).spec.selector).toEqual(find('StatefulSet', 'timescaledb-replica').spec.selector.matchLabels);
    const infra = secretData('amr-infra-secrets');
    expect(decodeURIComponent(primary.password)).toBe(infra.POSTGRES_PASSWORD);
    expect(decodeURIComponent(replica.password)).toBe(infra.POSTGRES_PASSWORD);
    const penv = podSpec(find('StatefulSet', 'timescaledb-primary')).containers[0].env;
    const val = (n: string) => penv!.find((e) => e.name === n)?.value;
    expect(primary.username).toBe(val('POSTGRES_USER'));
    expect(primary.pathname).toBe(`/${val('POSTGRES_DB')}`);
    const scripts = find('ConfigMap', 'timescaledb-scripts').data;
    expect(scripts['900_replication.sh']).toContain('REPLICATION');
    expect(scripts['clone-primary.sh']).toContain(`pg_basebackup -h ${primary.hostname}`);
  });

  it('runs `amr-headend migrate` in the Job with the head-end image and environment', () => {
    const c = podSpec(job).containers[0];
    expect(c.args ?? c.command).toContain('migrate');
    expect(c.args.join(' ')).toMatch(/amr-headend\.js migrate$/);
    expect(c.image).toBe(headendContainer.image);
    expect(c.envFrom).toEqual(headendContainer.envFrom);
    expect(podSpec(job).restartPolicy).toMatch(/OnFailure|Never/);
  });

  it('matches every selector to pod labels, and every referenced ConfigMap/Secret/Service exists', () => {
    const workloads = ofKind('Deployment', 'StatefulSet', 'Job');
    const podLabels = workloads.map((w) => w.spec.template.metadata.labels);
    const selects = (sel: Record<string, string>) => podLabels.some((l) => Object.entries(sel).every(([k, v]) => l[k] === v));
    for (const w of workloads.filter((w) => w.kind !== 'Job')) {
      const sel = w.spec.selector.matchLabels;
      expect(Object.entries(sel).every(([k, v]) => w.spec.template.metadata.labels[k] === v), `${w.kind} ${w.metadata.name}`).toBe(true);
      if (w.kind === 'StatefulSet') expect(docs.some((d) => d.kind === 'Service' && d.metadata.name === w.spec.serviceName), w.metadata.name).toBe(true);
    }
    for (const d of ofKind('Service')) expect(selects(d.spec.selector), `Service ${d.metadata.name}`).toBe(true);
    for (const d of ofKind('PodDisruptionBudget')) expect(selects(d.spec.selector.matchLabels), `PDB ${d.metadata.name}`).toBe(true);
    const secrets = new Set((kustomization.secretGenerator as { name: string }[]).map((g) => g.name));
    const configMaps = new Set(docs.filter((d) => d.kind === 'ConfigMap').map((d) => d.metadata.name));
    const text = JSON.stringify(workloads);
    for (const [, name] of text.matchAll(/"secret(?:Key)?Ref":\{"name":"([^"]+)"/g)) expect(secrets, name).toContain(name);
    for (const [, name] of text.matchAll(/"configMap(?:Ref)?":\{"name":"([^"]+)"/g)) expect(configMaps, name).toContain(name);
    for (const [, secret, key] of text.matchAll(/"secretKeyRef":\{"name":"([^"]+)","key":"([^"]+)"\}/g)) expect(Object.keys(secretData(secret)), `${secret}.${key}`).toContain(key);
    for (const g of kustomization.secretGenerator as { envs: string[] }[]) for (const e of g.envs) expect(existsSync(new URL(`${e}.example`, dir)), `${e}.example`).toBe(true);
  });

  it('uses the images of docker-compose.yml', () => {
    const s = compose.services;
    expect(imageName(headendContainer.image)).toBe(imageName(s.headend.image));
    const kImage = (kustomization.images as { name: string }[]).find((i) => i.name === imageName(headendContainer.image));
    expect(kImage, 'kustomization images: entry for the head-end').toBeDefined();
    const replica = podSpec(find('StatefulSet', 'timescaledb-replica'));
    // The clone runs pg_basebackup of the primary's major version: its init container too.
    for (const c of [...podSpec(find('StatefulSet', 'timescaledb-primary')).containers, ...replica.containers, ...replica.initContainers!]) {
      expect(c.image).toBe(s.timescaledb.image);
      expect(c.image).toBe(TIMESCALEDB_IMAGE); // what the tests run on (headend/test/pg-server.ts)
    }
    for (const c of [...podSpec(find('StatefulSet', 'redis')).containers, ...podSpec(find('StatefulSet', 'redis')).initContainers!]) expect(c.image).toBe(s.redis.image);
  });

  it('documents in README.md every env var the head-end gets', () => {
    const readme = read('README.md');
    for (const k of Object.keys(env)) expect(readme, k).toContain(`\`${k}\``);
  });
});

// kubectl's built-in kustomize (no cluster needed) renders the set as `kubectl apply -k` would: with
// the example secrets in place of the real ones, every reference must resolve to the generated names.
const haveKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
describe.skipIf(!haveKubectl)('kubectl kustomize deploy/k8s', () => {
  it('renders, and every Secret reference points at a generated Secret', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'amr-k8s-'));
    try {
      cpSync(fileURLToPath(dir), tmp, { recursive: true });
      for (const g of kustomization.secretGenerator as { envs: string[] }[]) for (const e of g.envs) copyFileSync(join(tmp, `${e}.example`), join(tmp, e));
      const out = spawnSync('kubectl', ['kustomize', tmp], { encoding: 'utf8' });
      expect(out.status, out.stderr).toBe(0);
      const rendered = parseAllDocuments(out.stdout).map((d) => d.toJS() as Doc & { file?: string });
      expect(rendered.length).toBe(docs.length + (kustomization.secretGenerator as unknown[]).length);
      const secretNames = new Set(rendered.filter((d) => d.kind === 'Secret').map((d) => d.metadata.name));
      const refs = [...JSON.stringify(rendered).matchAll(/"secret(?:Key)?Ref":\{"name":"([^"]+)"/g)].map((m) => m[1]);
      expect(refs.length).toBeGreaterThan(0);
      for (const r of refs) expect(secretNames, r).toContain(r);
      const dep = rendered.find((d): d is Of<'Deployment'> => d.kind === 'Deployment')!;
      expect(dep.spec.template.spec.containers[0].image).toBe('amr-headend:latest');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

// The replication scripts of timescaledb.yaml are plain PostgreSQL: run them against two throw-away
// PostgreSQL servers of the image's major version (the Debian server binaries the tests' server
// uses; as the postgres user when we are root), the way the pods do — init script on the primary,
// clone on the replica — and read through openReadDb.
const pgBin = existsSync(`${PG_BIN}/initdb`) ? PG_BIN : undefined;
const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
const canRunPg = !!pgBin && (asPostgres.length === 0 || spawnSync('id', ['postgres']).status === 0);

describe.skipIf(!canRunPg)('timescaledb.yaml replication scripts on real PostgreSQL servers', () => {
  it('creates the replication role and slots, clones a streaming standby, and dashboards read from it', async () => {
    const work = mkdtempSync(join(tmpdir(), 'amr-repl-'));
    chmodSync(work, 0o777);
    const run = (cmd: string, args: string[], env: Record<string, string> = {}) => {
      const [c, ...a] = [...asPostgres, ...(asPostgres.length ? ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)] : []), cmd, ...args];
      const r = spawnSync(c, a, { encoding: 'utf8', env: { ...process.env, ...env }, cwd: work });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
      return r.stdout;
    };
    const bin = (b: string) => `${pgBin}/${b}`;
    const ports = [await freePort(), await freePort()];
    const started: string[] = [];
    const scripts = find('ConfigMap', 'timescaledb-scripts').data;
    const replicationPassword = `r'p"w $x`; // quotes and a dollar: the scripts must pass it through intact
    try {
      writeFileSync(join(work, 'pw'), 'dbpw\n');
      writeFileSync(join(work, 'init.sh'), scripts['900_replication.sh']);
      // The clone script names the primary's Service; here it is the local server on its port.
      writeFileSync(join(work, 'clone.sh'), scripts['clone-primary.sh'].replaceAll('-h timescaledb-primary -p 5432', `-h 127.0.0.1 -p ${ports[0]}`));
      const primaryArgs = podSpec(find('StatefulSet', 'timescaledb-primary')).containers[0].args.slice(1).join(' ');
      const replicaArgs = podSpec(find('StatefulSet', 'timescaledb-replica')).containers[0].args.slice(1).join(' ');
      const common = `-c listen_addresses=127.0.0.1 -c unix_socket_directories=${work} -c shared_buffers=16MB`;
      run(bin('initdb'), ['-D', `${work}/primary`, '-U', 'amr', '--auth-host=scram-sha-256', '--auth-local=trust', `--pwfile=${work}/pw`]);
      run(bin('pg_ctl'), ['-D', `${work}/primary`, '-l', `${work}/primary.log`, '-w', 'start', '-o', `-p ${ports[0]} ${common} ${primaryArgs.replace('max_connections=100', 'max_connections=20')}`]);
      started.push(`${work}/primary`);
      run(bin('createdb'), ['-h', work, '-p', String(ports[0]), '-U', 'amr', 'amr']);
      run('sh', [`${work}/init.sh`], { PATH: `${pgBin}:${process.env.PATH}`, PGHOST: work, PGPORT: String(ports[0]), POSTGRES_USER: 'amr', POSTGRES_DB: 'amr', PGDATA: `${work}/primary`, REPLICATION_PASSWORD: replicationPassword });
      run(bin('pg_ctl'), ['-D', `${work}/primary`, 'reload']);
      const cloneEnv = { PATH: `${pgBin}:${process.env.PATH}`, PGDATA: `${work}/replica/pgdata`, POD_NAME: 'timescaledb-replica-0', REPLICATION_PASSWORD: replicationPassword };
      expect(run('sh', [`${work}/clone.sh`], cloneEnv)).toContain('slot replica_0');
      run(bin('pg_ctl'), ['-D', `${work}/replica/pgdata`, '-l', `${work}/replica.log`, '-w', 'start', '-o', `-p ${ports[1]} ${common} ${replicaArgs}`]);
      started.push(`${work}/replica/pgdata`);
      expect(run('sh', [`${work}/clone.sh`], cloneEnv)).toContain('replica data present');

      const primary = createPgDb({ connectionString: `postgres://amr:dbpw@127.0.0.1:${ports[0]}/amr`, max: 1 });
      const read = await openReadDb(primary, { DATABASE_READ_URL: `postgres://amr:dbpw@127.0.0.1:${ports[1]}/amr`, DB_POOL_MAX: 1 });
      try {
        await primary.query('CREATE TABLE t (v int); INSERT INTO t VALUES (42)');
        const slots = await primary.query<{ slot_name: string; active: boolean }>('SELECT slot_name, active FROM pg_replication_slots ORDER BY 1');
        expect(slots.rows).toEqual([{ slot_name: 'replica_0', active: true }, { slot_name: 'replica_1', active: false }, { slot_name: 'replica_2', active: false }]);
        // Wait for the standby to replay the insert (streaming; no fixed delay).
        for (;;) {
          const r = await read.db.query<{ v: number }>("SELECT v FROM t WHERE to_regclass('t') IS NOT NULL").catch(() => ({ rows: [] as { v: number }[] }));
          if (r.rows.length) break;
          await new Promise((res) => setTimeout(res, 50));
        }
        const { rows } = await read.db.query<{ v: number; standby: boolean }>('SELECT v, pg_is_in_recovery() AS standby FROM t');
        expect(rows).toEqual([{ v: 42, standby: true }]);
        await expect(read.db.query('INSERT INTO t VALUES (1)')).rejects.toThrow(/read-only transaction/);
      } finally {
        await read.close();
        await primary.close();
      }
    } finally {
      for (const d of started.reverse()) run(bin('pg_ctl'), ['-D', d, '-m', 'immediate', 'stop']);
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});


// redis-sentinel.yaml's init script, run for a first-start redis-0 (master) and redis-1: the configs
// it writes must load in real redis-server/sentinel processes with an awkward password, and a
// JobRunner must reach the master through that authenticated sentinel with the URL built from the
// head-end's environment. (No DNS for the pod names here: the sentinel's master address is
// replaced by the local redis-server's.)
const haveRedis = spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;
describe.skipIf(!haveRedis)('redis-sentinel.yaml init script on real Redis processes', () => {
  it('writes configs that load, authenticate, and serve bullmq through the sentinel', async () => {
    const work = mkdtempSync(join(tmpdir(), 'amr-redis-'));
    const procs: ChildProcess[] = [];
    const password = 'p w#"1\\';
    const prefix = `amrtest-k8s-${Date.now()}`;
    let runner: JobRunner | undefined;
    const start = async (args: string[], port: number) => {
      const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: string[] = [];
      p.stdout.on('data', (d) => out.push(String(d)));
      p.stderr.on('data', (d) => out.push(String(d)));
      procs.push(p);
      for (;;) {
        if (p.exitCode !== null) throw new Error(`redis-server ${args.join(' ')} exited: ${out.join('')}`);
        if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.match(/PONG|NOAUTH/)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      const script = find('ConfigMap', 'redis-scripts').data['init.sh'];
      const conf: Record<string, Record<string, string>> = {};
      for (const pod of ['redis-0', 'redis-1']) {
        const d = join(work, pod);
        mkdirSync(d);
        // The pod's /conf (emptyDir) and /data (PVC) are directories of this test.
        writeFileSync(join(d, 'init.sh'), script.replaceAll('/conf/', `${d}/`).replace(/^dir \/data$/m, `dir ${d}`));
        const r = spawnSync('sh', [join(d, 'init.sh')], { encoding: 'utf8', env: { ...process.env, POD_NAME: pod, POD_NAMESPACE: 'amr-test', REDIS_PASSWORD: password } });
        expect(r.status, r.stderr).toBe(0);
        conf[pod] = { redis: readFileSync(join(d, 'redis.conf'), 'utf8'), sentinel: readFileSync(join(d, 'sentinel.conf'), 'utf8'), dir: d };
      }
      expect(conf['redis-0'].redis).not.toMatch(/replicaof/);
      expect(conf['redis-1'].redis).toContain('replicaof redis-0.redis-headless.amr-test.svc.cluster.local 6379');
      const [redisPort, sentinelPort] = [await freePort(), await freePort()];
      // redis-0 as master (port overridden on the command line: 6379 is the test machine's Redis).
      await start([join(conf['redis-0'].dir, 'redis.conf'), '--port', String(redisPort), '--bind', '127.0.0.1'], redisPort);
      const cli = (port: number, ...args: string[]) => spawnSync('redis-cli', ['-p', String(port), '--user', 'default', '--pass', password, '--no-auth-warning', ...args], { encoding: 'utf8' }).stdout.trim();
      expect(cli(redisPort, 'config', 'get', 'maxmemory-policy')).toContain('noeviction');
      // redis-1's sentinel, pointed at that master.
      const sconf = join(conf['redis-1'].dir, 'sentinel-local.conf');
      writeFileSync(sconf, conf['redis-1'].sentinel.replace(/^sentinel monitor amr \S+ 6379/m, `sentinel monitor amr 127.0.0.1 ${redisPort}`).replace(/^port 26379$/m, `port ${sentinelPort}`).replace(/^dir \/tmp$/m, `dir ${conf['redis-1'].dir}`).replace(/^sentinel announce-ip .*$/m, 'sentinel announce-ip 127.0.0.1'));
      await start([sconf, '--sentinel', '--bind', '127.0.0.1'], sentinelPort);
      for (;;) {
        if (cli(sentinelPort, 'sentinel', 'get-master-addr-by-name', 'amr').includes(String(redisPort))) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(spawnSync('redis-cli', ['-p', String(sentinelPort), 'ping'], { encoding: 'utf8' }).stdout).toMatch(/NOAUTH/); // sentinel requires the password

      const url = redisUrlFromConfig({ REDIS_URL: cfg.REDIS_URL, REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_SENTINEL_NAME: env.REDIS_SENTINEL_NAME, REDIS_PASSWORD: password });
      runner = new JobRunner({ redisUrl: url, prefix, logger: pino({ level: 'silent' }) });
      expect(runner.redisUrl).not.toContain('#"1');
      const done = new Promise<number>((resolve) => runner!.define({ name: 'k8s.echo', data: z.object({ n: z.number() }), handler: async ({ n }) => resolve(n) }));
      await runner.enqueue('k8s.echo', { n: 7 });
      expect(await done).toBe(7);
    } finally {
      await runner?.close();
      for (const p of procs.reverse()) {
        if (p.exitCode !== null) continue;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await exited;
      }
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});
