// No Docker engine runs on the development machines, so docker-compose.yml is kept correct by
// reading: its services, health checks, volumes, ports and the head-end's environment are checked
// against the head-end's own config schema (the one it validates at start).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';
import { loadConfig, CONFIG_KEYS, type OpenedDb } from '@amr/headend';
import { openTestDb } from '../headend/test/engine.js';
import { PG_MAJOR, TIMESCALEDB_IMAGE, TIMESCALEDB_VERSION } from '../headend/test/pg-server.js';

const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'));
/** Compose's `${VAR:-default}` as the default a user gets without a .env file. */
const interpolate = (v: unknown) => String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('docker-compose.yml', () => {
  it('has TimescaleDB, Redis and the head-end, each with a health check and restart policy', () => {
    for (const name of ['timescaledb', 'redis', 'headend']) {
      const s = compose.services[name];
      expect(s, name).toBeDefined();
      expect(s.healthcheck?.test, `${name}.healthcheck`).toBeDefined();
      expect(s.restart, `${name}.restart`).toBe('unless-stopped');
    }
    expect(compose.services.timescaledb.image).toMatch(/^timescale\/timescaledb:/);
  });

  it('pins the TimescaleDB and PostgreSQL the tests run on (headend/test/pg-server.ts, scripts/ensure-timescaledb.sh)', () => {
    expect(compose.services.timescaledb.image).toBe('timescale/timescaledb:2.23.1-pg15');
    expect(compose.services.timescaledb.image).toBe(TIMESCALEDB_IMAGE);
    const script = readFileSync(new URL('../scripts/ensure-timescaledb.sh', import.meta.url), 'utf8');
    expect(script).toMatch(new RegExp(`^VERSION=${TIMESCALEDB_VERSION.replace(/\./g, '\\.')}$`, 'm'));
    expect(script).toContain(`postgresql-server-dev-${PG_MAJOR}`);
  });

  it("gives the head-end only environment keys its config schema knows, and they validate", () => {
    const env = Object.fromEntries(Object.entries(compose.services.headend.environment).map(([k, v]) => [k, interpolate(v)]));
    const unknown = Object.keys(env).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
    expect(unknown).toEqual([]);
    const cfg = loadConfig(env);
    expect(new URL(cfg.DATABASE_URL!).hostname).toBe('timescaledb');
    expect(new URL(cfg.REDIS_URL).hostname).toBe('redis');
  });

  it('publishes the ports the head-end listens on, and its health check asks that HTTP port', () => {
    const h = compose.services.headend;
    const cfg = loadConfig(Object.fromEntries(Object.entries(h.environment).map(([k, v]) => [k, interpolate(v)])));
    const published = (h.ports as string[]).map((p) => Number(p.split(':').pop()!.split('/')[0]));
    expect(published).toContain(cfg.MQTT_PORT);
    expect(published).toContain(cfg.HTTP_PORT);
    expect(h.healthcheck.test.join(' ')).toContain(`:${cfg.HTTP_PORT}/health/ready`);
    // Docker kills after stop_grace_period (default 10 s): longer than the head-end's bounded shutdown.
    expect(Number(/^(\d+)s$/.exec(String(h.stop_grace_period))?.[1])).toBeGreaterThan(cfg.SHUTDOWN_TIMEOUT_SECONDS);
  });

  it('keeps state in named volumes and builds from a Dockerfile that exists', () => {
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['tsdb-data', 'redis-data', 'headend-data']));
    const dockerfile = compose.services.headend.build.dockerfile;
    expect(existsSync(new URL(`../${dockerfile}`, import.meta.url))).toBe(true);
    const cfg = loadConfig(Object.fromEntries(Object.entries(compose.services.headend.environment).map(([k, v]) => [k, interpolate(v)])));
    expect(compose.services.headend.volumes).toContain(`headend-data:${cfg.DATA_DIR}`);
  });
});

// ---- optional profiles: Grafana (provisioned datasource + dashboard) and Mosquitto ----

const grafanaDir = new URL('../deploy/grafana/', import.meta.url);
const dashboardFiles = readdirSync(new URL('dashboards/', grafanaDir)).filter((f) => f.endsWith('.json'));
/** The parts of a Grafana dashboard's JSON these tests read. */
interface GrafanaPanel { id: number; type: string; title: string; datasource?: { type: string; uid: string }; targets?: { rawSql?: string }[]; panels?: GrafanaPanel[] }
interface GrafanaDashboard { panels: GrafanaPanel[]; templating?: { list: { type: string; name: string; datasource?: { type: string }; query: string | { rawSql?: string } }[] } }
const POSTGRES = 'grafana-postgresql-datasource';
const dashboards = dashboardFiles.map((f) => ({ file: f, json: JSON.parse(readFileSync(new URL(`dashboards/${f}`, grafanaDir), 'utf8')) as GrafanaDashboard }));
const datasources = parse(readFileSync(new URL('provisioning/datasources/timescaledb.yaml', grafanaDir), 'utf8')).datasources as { uid: string; url: string; user: string; jsonData: { database: string }; secureJsonData: { password: string } }[];

/** Every SQL text of a dashboard: TimescaleDB panel targets (rows included) and query variables
 *  (PromQL panels are checked in deploy-grafana.test.ts). */
function dashboardSql(d: GrafanaDashboard): { where: string; sql: string }[] {
  const panels = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.datasource?.type === POSTGRES);
  return [
    ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, sql: t.rawSql ?? '' }))),
    ...(d.templating?.list ?? [])
      .filter((v) => v.type === 'query' && v.datasource?.type === POSTGRES)
      .map((v) => ({ where: `variable $${v.name}`, sql: typeof v.query === 'string' ? v.query : (v.query.rawSql ?? '') })),
  ];
}

/** Tables and views with their columns, from headend/migrations/*.sql (CREATE TABLE, CREATE
 *  MATERIALIZED VIEW … AS SELECT, ALTER TABLE … ADD COLUMN). A simple parse, enough for our files. */
function schemaFromMigrations(): Map<string, Set<string>> {
  const dir = new URL('../headend/migrations/', import.meta.url);
  const tables = new Map<string, Set<string>>();
  const splitTop = (s: string) => {
    const parts: string[] = [];
    let depth = 0;
    let cur = '';
    for (const ch of s) {
      if (ch === '(') depth++;
      if (ch === ')') depth--;
      if (ch === ',' && depth === 0) { parts.push(cur); cur = ''; } else cur += ch;
    }
    return [...parts, cur].map((p) => p.trim()).filter(Boolean);
  };
  /** Text between the '(' at `open` and its matching ')'. */
  const inParens = (s: string, open: number) => {
    let depth = 0;
    for (let i = open; i < s.length; i++) {
      if (s[i] === '(') depth++;
      if (s[i] === ')' && --depth === 0) return s.slice(open + 1, i);
    }
    throw new Error('unbalanced parentheses');
  };
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    const sql = readFileSync(new URL(f, dir), 'utf8').replace(/--[^\n]*/g, '');
    for (const m of sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(\w+)\s*\(/gi)) {
      const body = inParens(sql, m.index + m[0].length - 1);
      const cols = splitTop(body).filter((p) => !/^(PRIMARY|UNIQUE|CHECK|FOREIGN|CONSTRAINT|EXCLUDE)\b/i.test(p)).map((p) => p.split(/\s+/)[0].toLowerCase());
      tables.set(m[1].toLowerCase(), new Set(cols));
    }
    for (const m of sql.matchAll(/CREATE MATERIALIZED VIEW (\w+)[\s\S]*?\bAS\s+SELECT\s+([\s\S]*?)\s+FROM\b/gi)) {
      const cols = splitTop(m[2]).map((p) => (/\bAS\s+(\w+)\s*$/i.exec(p)?.[1] ?? p.split('.').pop()!).toLowerCase());
      tables.set(m[1].toLowerCase(), new Set(cols));
    }
    for (const m of sql.matchAll(/ALTER TABLE (?:IF EXISTS )?(\w+)\s+ADD (?:COLUMN )?(?:IF NOT EXISTS )?(\w+)/gi)) {
      tables.get(m[1].toLowerCase())?.add(m[2].toLowerCase());
    }
  }
  return tables;
}

const SQL_WORDS = new Set(
  ('select from where and or not in is null as on join left inner order by group having desc asc distinct over partition ' +
    'limit case when then else end true false interval now lag between like text int bigint double precision numeric timestamptz').split(' '),
);

/** Problems in one query: unknown tables, unknown `alias.column`, unqualified names that are no column. */
function sqlProblems(sql: string, tables: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  const bare = sql
    .replace(/'[^']*'/g, "''") // string literals (incl. '$quantity')
    .replace(/\$__\w+\(([^)]*)\)/g, '($1)') // Grafana macros keep their argument
    .replace(/\$\w+/g, '0'); // Grafana variables
  const alias = new Map<string, string>();
  for (const m of bare.matchAll(/\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?!WHERE|JOIN|ON|ORDER|GROUP|LEFT|INNER|LIMIT)(\w+))?/gi)) {
    const t = m[1].toLowerCase();
    if (!tables.has(t)) problems.push(`table ${t} does not exist`);
    alias.set((m[2] ?? m[1]).toLowerCase(), t);
  }
  for (const m of bare.matchAll(/\b(\w+)\.(\w+)\b/g)) {
    const t = alias.get(m[1].toLowerCase());
    if (!t) problems.push(`${m[0]}: ${m[1]} is not a table alias`);
    else if (tables.has(t) && !tables.get(t)!.has(m[2].toLowerCase())) problems.push(`${m[0]}: ${t} has no column ${m[2]}`);
  }
  // What is left once qualified names, output names (AS x), function names, casts and numbers are
  // gone must be SQL words, tables or aliases: an unqualified column would show up here.
  const outNames = new Set([...bare.matchAll(/\bAS\s+"?(\w+)"?/gi)].map((m) => m[1].toLowerCase()));
  const rest = bare
    .replace(/\b\w+\.\w+\b/g, ' ')
    .replace(/"[^"]*"/g, ' ')
    .replace(/::\w+/g, ' ')
    .replace(/\b\w+\s*\(/g, '(')
    .replace(/\b\d+\b/g, ' ');
  for (const [w] of rest.matchAll(/\b[A-Za-z_]\w*\b/g)) {
    const l = w.toLowerCase();
    if (!SQL_WORDS.has(l) && !outNames.has(l) && !alias.has(l) && !tables.has(l)) problems.push(`unqualified name ${w} (qualify columns with their table alias)`);
  }
  return problems;
}

describe('docker-compose.yml optional profiles', () => {
  it('keeps the core services out of profiles and adds grafana and mosquitto as profiles with health checks', () => {
    for (const name of ['timescaledb', 'redis', 'headend']) expect(compose.services[name].profiles, name).toBeUndefined();
    for (const name of ['grafana', 'mosquitto']) {
      const s = compose.services[name];
      expect(s.profiles, name).toEqual([name]);
      expect(s.healthcheck?.test, `${name}.healthcheck`).toBeDefined();
      expect(s.restart, `${name}.restart`).toBe('unless-stopped');
    }
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['grafana-data', 'mosquitto-data']));
    // Without AMR_MQTT_URL the head-end keeps its embedded broker.
    const cfg = loadConfig(Object.fromEntries(Object.entries(compose.services.headend.environment).map(([k, v]) => [k, interpolate(v)])));
    expect(cfg.MQTT_URL).toBeUndefined();
    // Every profile can run beside the core services: no host port is published twice.
    const hostPorts = Object.values(compose.services as Record<string, { ports?: string[] }>).flatMap((s) => (s.ports ?? []).map((p) => p.split(':')[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('mounts provisioning files that exist; the datasource reaches the timescaledb service as its user and database', () => {
    const g = compose.services.grafana;
    const mounts = (g.volumes as string[]).filter((v) => v.startsWith('./')).map((v) => v.split(':'));
    expect(mounts.length).toBeGreaterThanOrEqual(2);
    for (const [src] of mounts) expect(existsSync(new URL(`../${src.slice(2)}`, import.meta.url)), src).toBe(true);
    const provider = parse(readFileSync(new URL('provisioning/dashboards/amr.yaml', grafanaDir), 'utf8')).providers[0];
    expect(mounts.find(([src]) => src === './deploy/grafana/dashboards')?.[1]).toBe(provider.options.path);
    expect(mounts.find(([src]) => src === './deploy/grafana/provisioning')?.[1]).toBe('/etc/grafana/provisioning');
    const [ds] = datasources;
    const tsdb = compose.services.timescaledb.environment;
    expect(ds.url).toBe('timescaledb:5432');
    expect(ds.user).toBe(tsdb.POSTGRES_USER);
    expect(ds.jsonData.database).toBe(tsdb.POSTGRES_DB);
    const pwVar = /^\$\{?(\w+)\}?$/.exec(ds.secureJsonData.password)![1];
    expect(interpolate(g.environment[pwVar])).toBe(interpolate(tsdb.POSTGRES_PASSWORD));
    expect(dashboardFiles).toContain('amr-readings-imbalance.json');
    expect(g.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${provider.options.path}/amr-readings-imbalance.json`);
  });

  it('has a dashboard on readings_hourly/readings_daily per meter and on imbalance_reports, all on the provisioned datasource', () => {
    expect(dashboards.length).toBeGreaterThan(0);
    const all = dashboards.flatMap((d) => dashboardSql(d.json));
    const text = all.map((q) => q.sql).join('\n');
    for (const t of ['readings_hourly', 'readings_daily', 'imbalance_reports']) expect(text).toContain(t);
    expect(text).toMatch(/imbalance_pct/);
    expect(text).toMatch(/\.status\b/);
    for (const d of dashboards) {
      expect(new Set(d.json.panels.map((p) => p.id)).size, d.file).toBe(d.json.panels.length);
      for (const p of d.json.panels.filter((p) => p.datasource?.type === POSTGRES)) expect(p.datasource?.uid, p.title).toBe(datasources[0].uid);
    }
  });

  it("uses only tables and columns the migrations create in the dashboard's SQL", () => {
    const tables = schemaFromMigrations();
    expect([...tables.get('readings_hourly')!]).toEqual(expect.arrayContaining(['meter_id', 'bucket', 'last_value', 'samples']));
    expect(tables.get('imbalance_reports')!.has('imbalance_pct')).toBe(true);
    const problems = dashboards.flatMap((d) => dashboardSql(d.json).flatMap((q) => sqlProblems(q.sql, tables).map((p) => `${d.file} ${q.where}: ${p}`)));
    expect(problems).toEqual([]);
    // The checker itself catches what it is meant to catch.
    expect(sqlProblems('SELECT r.nope FROM imbalance_reports r', tables)).toEqual(['r.nope: imbalance_reports has no column nope']);
    expect(sqlProblems('SELECT x.a FROM no_such_table x', tables)[0]).toBe('table no_such_table does not exist');
    expect(sqlProblems('SELECT status FROM imbalance_reports r', tables)).toEqual(['unqualified name status (qualify columns with their table alias)']);
  });

  it('gives mosquitto a config that refuses anonymous clients and the dynamic-security plugin the head-end manages', () => {
    const s = compose.services.mosquitto;
    for (const c of s.configs) expect(compose.configs[c.source], c.source).toBeDefined();
    const conf = compose.configs['mosquitto-conf'].content as string;
    expect(conf).toMatch(/allow_anonymous false/);
    const file = /^plugin_opt_config_file (\S+)$/m.exec(conf)?.[1];
    expect(conf).toMatch(/^plugin \S*mosquitto_dynamic_security\.so$/m);
    // The plugin's file is created once, with the admin client the head-end is given.
    expect(file).toBe('/mosquitto/data/dynamic-security.json');
    expect((s.command as string[]).join(' ')).toContain(`mosquitto_ctrl dynsec init ${file} "$$ADMIN_USERNAME" "$$ADMIN_PASSWORD"`);
    const he = compose.services.headend.environment as Record<string, string>;
    expect(interpolate(s.environment.ADMIN_USERNAME)).toBe('amr-admin');
    expect(he.MQTT_ADMIN_USERNAME).toBe('${AMR_MQTT_ADMIN_USERNAME:-}');
    // With the profile the head-end is told to manage it; loadConfig accepts that set of values.
    const cfg = loadConfig({ ...Object.fromEntries(Object.entries(he).map(([k, v]) => [k, interpolate(v)])),
      MQTT_URL: 'mqtt://mosquitto:1883', MQTT_BROKER_AUTH: 'mosquitto-dynsec', MQTT_USERNAME: 'amr-headend', MQTT_PASSWORD: 'x',
      MQTT_ADMIN_USERNAME: 'amr-admin', MQTT_ADMIN_PASSWORD: 'y' });
    expect(cfg.MQTT_BROKER_AUTH).toBe('mosquitto-dynsec');
  });
});

/** Grafana's macros and this dashboard's variables, replaced by fixed values for a test run. */
function substitute(sql: string, v: { building: number; meters: number[] }): string {
  return sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, "$1 BETWEEN '2025-01-01T00:00:00Z' AND '2026-01-01T00:00:00Z'")
    .replace(/\$__timeTo\(\)/g, "'2026-01-01T00:00:00Z'::timestamptz")
    .replace(/\$building\b/g, String(v.building))
    .replace(/\$meter\b/g, v.meters.join(', '))
    .replace(/\$quantity\b/g, 'energy_kwh')
    .replace(/\$resource\b/g, "'heat'")
    .replace(/\$period\b/g, 'month');
}

describe('the dashboard SQL on the embedded TimescaleDB with the migrations applied', () => {
  let opened: OpenedDb;
  const ids = { building: 0, meters: [] as number[] };
  beforeAll(async () => {
    opened = await openTestDb();
    const q = opened.db.query.bind(opened.db);
    const org = (await q<{ id: number }>("INSERT INTO organisations (name) VALUES ('Org') RETURNING id")).rows[0].id;
    ids.building = (await q<{ id: number }>("INSERT INTO buildings (org_id, address) VALUES ($1, 'Main St 1') RETURNING id", [org])).rows[0].id;
    // One meter per resource group of the dashboard, three days of hourly register readings each:
    // heat 1 kWh per hour, electricity 2 kWh, cold water 0.5 m³, gas 0.25 m³.
    for (const [resource, serial, quantity, unit, perHour] of [
      ['heat', 'H-1', 'energy_kwh', 'kWh', 1], ['electricity', 'E-1', 'energy_kwh', 'kWh', 2],
      ['cold_water', 'W-1', 'volume_m3', 'm3', 0.5], ['gas', 'G-1', 'volume_m3', 'm3', 0.25],
    ] as const) {
      const id = (await q<{ id: number }>("INSERT INTO meters (placement, building_id, resource, serial_number) VALUES ('building', $1, $2, $3) RETURNING id", [ids.building, resource, serial])).rows[0].id;
      ids.meters.push(id);
      await q(
        "INSERT INTO readings (meter_id, time, quantity, value, unit, source) SELECT $1, t, $2, $4 * extract(epoch FROM t - '2025-03-01'::timestamptz) / 3600, $3, 'telemetry' FROM generate_series('2025-03-01'::timestamptz, '2025-03-03 23:00'::timestamptz, interval '1 hour') AS t",
        [id, quantity, unit, perHour],
      );
    }
    await q(
      `INSERT INTO imbalance_reports (building_id, resource, period_kind, period_start, period_end, building_consumption, apartments_consumption,
         other_consumption, imbalance, imbalance_pct, coverage, apartments_total, apartments_actual, status, thresholds, meters)
       VALUES ($1, 'heat', 'month', '2025-03-01', '2025-04-01', 100, 80, 5, 15, 15, 1, 10, 10, 'high_loss', '{}', '[]')`,
      [ids.building],
    );
  });
  afterAll(async () => {
    await opened?.close();
  });

  it('runs every query and every panel returns rows', async () => {
    for (const d of dashboards) {
      for (const { where, sql } of dashboardSql(d.json)) {
        const r = await opened.db.query(substitute(sql, ids)).catch((e: Error) => {
          throw new Error(`${d.file} ${where}: ${e.message}`);
        });
        expect(r.rows.length, `${d.file} ${where}`).toBeGreaterThan(0);
      }
    }
  });

  it('computes hourly consumption per resource in its unit and shows the latest imbalance status', async () => {
    const panels = dashboards.find((d) => d.file === 'amr-readings-imbalance.json')!.json.panels;
    const hourly = async (resource: string) => {
      const sql = panels.find((p) => p.title.startsWith(`${resource} — hourly consumption`))!.targets![0].rawSql!;
      return (await opened.db.query<{ metric: string; value: number | null }>(substitute(sql, ids))).rows;
    };
    // 72 hourly buckets; the first has no previous hour, so no consumption.
    const heat = await hourly('Heat');
    expect(heat.length).toBe(72);
    expect(heat[0].value).toBeNull();
    expect(heat.every((r) => r.metric.startsWith('H-1 (heat'))).toBe(true);
    // 1 kWh an hour is 1/1163 Гкал.
    for (const r of heat.slice(1)) expect(r.value).toBeCloseTo(1 / 1163, 12);
    const electricity = await hourly('Electricity');
    expect(electricity.length).toBe(72);
    expect(electricity.slice(1).every((r) => r.value === 2 && r.metric.startsWith('E-1'))).toBe(true);
    const water = await hourly('Water (cold, hot, wastewater)');
    expect(water.slice(1).every((r) => r.value === 0.5 && r.metric.startsWith('W-1'))).toBe(true);
    const gas = await hourly('Gas');
    expect(gas.slice(1).every((r) => r.value === 0.25 && r.metric.startsWith('G-1'))).toBe(true);
    const table = panels.find((p) => p.type === 'table')!.targets![0].rawSql!;
    const [row] = (await opened.db.query(substitute(table, ids))).rows;
    // Heat volumes in Гкал: 100 kWh = 0.086 Гкал (3 decimals), 80 kWh = 0.069, 5 kWh = 0.004.
    expect(row).toMatchObject({ building: 'Main St 1', resource: 'heat', status: 'high_loss', imbalance_pct: 15,
      building_meter: '0.086 Гкал', apartments: '0.069 Гкал', other: '0.004 Гкал' });
  });
});
