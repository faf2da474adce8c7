// The Grafana dashboards read against what they show: every panel has a datasource that is
// provisioned and a unit, the consumption panels carry their resource's unit, and every PromQL
// expression names only metrics (and labels) that the head-end or the gateway registers with
// prom-client. No Grafana or Prometheus runs here; the SQL panels are run on the embedded
// TimescaleDB in deploy-compose.test.ts.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '@amr/headend';
import {
  allPanels, dashboardPromql, dataPanels, grafanaDir, loadDashboards, promProblems, promSelectors, registeredMetrics, repoRoot,
  type Dashboard, type RegisteredMetric,
} from './grafana/dashboards.js';

const dashboards = loadDashboards();
const byFile = (f: string): Dashboard => {
  const d = dashboards.find((x) => x.file === f);
  if (!d) throw new Error(`deploy/grafana/dashboards/${f} is missing`);
  return d.json;
};
const provisioned = readdirSync(join(grafanaDir, 'provisioning/datasources'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => (parse(readFileSync(join(grafanaDir, 'provisioning/datasources', f), 'utf8')) as { datasources: { uid: string; type: string; url: string }[] }).datasources);
const metrics = registeredMetrics(['headend/src', 'gateway/src']);
const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { volumes?: string[]; environment?: Record<string, string>; depends_on?: Record<string, unknown>; profiles?: string[] }>;
  volumes: Record<string, unknown>;
};

describe('Grafana dashboards', () => {
  it('are valid dashboards with unique uids and unique panel ids', () => {
    expect(dashboards.map((d) => d.file)).toEqual(['amr-operations.json', 'amr-readings-imbalance.json']);
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(dashboards.length);
    for (const { file, json } of dashboards) {
      const ids = allPanels(json).map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
    }
  });

  it('give every panel that shows data a provisioned datasource of the same type as its queries, and a unit', () => {
    const uids = new Map(provisioned.map((d) => [d.uid, d.type]));
    expect([...uids.keys()].sort()).toEqual(['amr-prometheus', 'amr-timescaledb']);
    const problems: string[] = [];
    for (const { file, json } of dashboards) {
      for (const p of dataPanels(json)) {
        const at = `${file} "${p.title}"`;
        if (!p.datasource) problems.push(`${at}: no datasource`);
        else if (uids.get(p.datasource.uid) !== p.datasource.type) problems.push(`${at}: datasource ${p.datasource.uid} (${p.datasource.type}) is not provisioned`);
        if (!p.targets?.length) problems.push(`${at}: no query`);
        for (const t of p.targets ?? []) {
          if (t.datasource && t.datasource.uid !== p.datasource?.uid) problems.push(`${at} ${t.refId}: query on ${t.datasource.uid}, panel on ${p.datasource?.uid}`);
          const kind = p.datasource?.type === 'prometheus' ? t.expr : t.rawSql;
          if (!kind?.trim()) problems.push(`${at} ${t.refId}: empty ${p.datasource?.type === 'prometheus' ? 'expr' : 'rawSql'}`);
        }
        if (!p.fieldConfig?.defaults.unit?.trim()) problems.push(`${at}: no unit (fieldConfig.defaults.unit)`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('show each resource in its unit, named in the title: electricity kWh, heat Гкал (kWh / 1163), water and gas m³', () => {
    const d = byFile('amr-readings-imbalance.json');
    const expected: [prefix: string, unit: string, shown: string, resources: string[], quantity: string][] = [
      ['Electricity', 'kwatth', 'kWh', ['electricity'], 'energy_kwh'],
      ['Heat', 'suffix: Гкал', 'Гкал', ['heat'], 'energy_kwh'],
      ['Water', 'm3', 'm³', ['cold_water', 'hot_water', 'wastewater'], 'volume_m3'],
      ['Gas', 'm3', 'm³', ['gas'], 'volume_m3'],
    ];
    const resources = ['electricity', 'heat', 'cold_water', 'hot_water', 'wastewater', 'gas'];
    for (const [prefix, unit, shown, res, quantity] of expected) {
      const panels = dataPanels(d).filter((p) => p.title.startsWith(`${prefix} `));
      expect(panels.map((p) => p.title.replace(/^.* — /, ''))).toEqual([`hourly consumption, ${shown}`, `daily consumption, ${shown}`, `daily register, ${shown}`]);
      for (const p of panels) {
        expect(p.fieldConfig?.defaults.unit, p.title).toBe(unit);
        const sql = p.targets![0].rawSql!;
        // Exactly this group's resources, and the register consumption is counted from.
        for (const r of resources) expect(sql.includes(`'${r}'`), `${p.title} names ${r}`).toBe(res.includes(r));
        expect(sql).toContain(`quantity = '${quantity}'`);
        expect(sql.includes('/ 1163'), `${p.title} converts kWh to Гкал`).toBe(prefix === 'Heat');
      }
    }
    // Percent panels: imbalance_pct is stored in % (15 = 15 %), coverage as a share (0.9 = 90 %).
    const imbalance = dataPanels(d).find((p) => p.targets?.[0].rawSql?.includes('r.imbalance_pct AS value'));
    expect(imbalance?.fieldConfig?.defaults.unit).toBe('percent');
    const coverage = dataPanels(d).find((p) => p.targets?.[0].rawSql?.includes('r.coverage AS value'));
    expect(coverage?.fieldConfig?.defaults.unit).toBe('percentunit');
  });
});

describe('the operations dashboard against the registered metrics', () => {
  it('finds the registrations of the head-end and the gateway, with their labels', () => {
    const m = (n: string) => metrics.find((x) => x.name === n);
    expect(m('amr_ingest_lag_seconds')).toMatchObject({ type: 'Histogram', labels: [], file: 'headend/src/metrics/index.ts' });
    expect(m('amr_ingest_messages_total')).toMatchObject({ type: 'Counter', labels: ['kind', 'outcome'] });
    expect(m('amr_queue_jobs')).toMatchObject({ type: 'Gauge', labels: ['queue', 'state'], file: 'headend/src/http/plugins/metrics.ts' });
    expect(m('amr_gateway_bus_losses_total')).toMatchObject({ type: 'Counter', labels: ['bus', 'code'], file: 'gateway/src/ops/metrics.ts' });
    expect(m('amr_gateway_outbox_depth')).toMatchObject({ type: 'Gauge', labels: [] });
    expect(metrics.length).toBeGreaterThanOrEqual(35);
  });

  it('reads metric names and matcher labels out of PromQL, and flags what does not exist', () => {
    expect(promSelectors('histogram_quantile(0.99, sum by (le) (rate(amr_ingest_lag_seconds_bucket[$__rate_interval])))')).toEqual([{ metric: 'amr_ingest_lag_seconds_bucket', labels: [] }]);
    expect(promSelectors('count(amr_gateway_outbox_near_full{instance=~"$gateway"} >= 1) or vector(0)')).toEqual([{ metric: 'amr_gateway_outbox_near_full', labels: ['instance'] }]);
    expect(promSelectors('sum by (instance, bus) (rate(a_total{result="failed", x!~"y{z}"}[5m])) / on(bus) group_left(code) b offset 1h')).toEqual([
      { metric: 'a_total', labels: ['result', 'x'] }, { metric: 'b', labels: [] },
    ]);
    const fake: RegisteredMetric[] = [
      { name: 'amr_x_seconds', type: 'Histogram', labels: ['bus'], file: 'f.ts' },
      { name: 'amr_y_total', type: 'Counter', labels: ['kind'], file: 'f.ts' },
    ];
    expect(promProblems('rate(amr_x_seconds_bucket{bus="a", le="1", instance="gw"}[5m])', fake)).toEqual([]);
    expect(promProblems('rate(amr_x_seconds[5m])', fake)).toEqual(['amr_x_seconds is a histogram: use amr_x_seconds_bucket / amr_x_seconds_sum / amr_x_seconds_count']);
    expect(promProblems('sum(rate(amr_y_totals[5m]))', fake)).toEqual(['amr_y_totals is registered nowhere in the sources']);
    expect(promProblems('amr_y_total{reason="z"}', fake)).toEqual(['amr_y_total has no label reason (labels: kind)']);
  });

  it('names only registered metrics and labels in every PromQL expression and variable', () => {
    const exprs = dashboards.flatMap((d) => dashboardPromql(d.json).map((q) => ({ ...q, file: d.file })));
    expect(exprs.length).toBeGreaterThan(30);
    const problems = exprs.flatMap((q) => promProblems(q.expr, metrics).map((p) => `${q.file} ${q.where}: ${p}`));
    expect(problems).toEqual([]);
    // Every expression names at least one metric: a literal alone would show a flat line.
    expect(exprs.filter((q) => promSelectors(q.expr).length === 0)).toEqual([]);
  });

  it('covers ingest rate and lag, gateways online, outboxes, buses, validation, jobs, quarantine and MQTT', () => {
    const d = byFile('amr-operations.json');
    const used = new Set(dashboardPromql(d).flatMap((q) => promSelectors(q.expr).map((s) => s.metric)));
    for (const m of [
      'amr_ingest_readings_stored_total', 'amr_ingest_lag_seconds_bucket', 'amr_ingest_pending', 'amr_gateways_online',
      'amr_gateway_outbox_depth', 'amr_gateway_bus_up', 'amr_gateway_bus_losses_total', 'amr_queue_jobs',
      'amr_ingest_quarantined_total', 'amr_gateway_mqtt_connected', 'amr_broker_auth_attempts_total',
    ]) expect(used.has(m), m).toBe(true);
    // No metric for the validation backlog or open quarantine exists: those two read the database.
    const sql = dataPanels(d).flatMap((p) => (p.targets ?? []).map((t) => t.rawSql ?? '')).join('\n');
    expect(sql).toMatch(/FROM vee_queue\b/);
    expect(sql).toMatch(/FROM quarantine q WHERE q\.resolved_at IS NULL/);
    // Counted per gateway, the outbox panel splits by the scrape target.
    const outbox = dataPanels(d).find((p) => p.title.startsWith('Outbox depth per gateway'));
    expect(outbox?.targets?.[0].legendFormat).toBe('{{instance}}');
    expect(outbox?.fieldConfig?.defaults.unit).toBe('suffix: readings');
  });
});

describe('Grafana and Prometheus provisioning', () => {
  it('explains every operations panel in the deploy README, by its title', () => {
    const readme = readFileSync(join(repoRoot, 'deploy/k8s/README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Dashboards (Grafana)'));
    expect(section.length).toBeLessThan(readme.length);
    // "Outbox depth per gateway (readings)" is documented as "Outbox depth per gateway".
    const missing = dataPanels(byFile('amr-operations.json')).map((p) => p.title.replace(/ \([^)]*\)$/, '')).filter((t) => !section.includes(t));
    expect(missing).toEqual([]);
  });


  it('loads the dashboards folder: the provider path is where compose mounts deploy/grafana/dashboards', () => {
    const provider = (parse(readFileSync(join(grafanaDir, 'provisioning/dashboards/amr.yaml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] }).providers[0];
    expect(provider.type).toBe('file');
    const mount = compose.services.grafana.volumes!.map((v) => v.split(':')).find(([src]) => src === './deploy/grafana/dashboards');
    expect(mount?.[1]).toBe(provider.options.path);
    const home = compose.services.grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(home).toBe(`${provider.options.path}/amr-readings-imbalance.json`);
  });

  it("points the Prometheus datasource at the compose prometheus service, which scrapes the head-end's HTTP port", () => {
    const ds = provisioned.find((d) => d.type === 'prometheus')!;
    const url = new URL(ds.url);
    expect(url.hostname).toBe('prometheus');
    const prom = compose.services.prometheus;
    expect(prom.profiles).toEqual(['grafana']);
    expect(compose.services.grafana.depends_on).toHaveProperty('prometheus');
    expect(Object.keys(compose.volumes)).toContain('prometheus-data');
    const mounts = prom.volumes!.map((v) => v.split(':'));
    expect(mounts.find(([src]) => src === './deploy/prometheus/prometheus.yml')?.[1]).toBe('/etc/prometheus/prometheus.yml');
    const config = parse(readFileSync(join(repoRoot, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; metrics_path: string; static_configs?: { targets: string[] }[]; file_sd_configs?: { files: string[] }[] }[];
    };
    const headendEnv = Object.fromEntries(Object.entries(compose.services.headend.environment!).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));
    const cfg = loadConfig(headendEnv);
    const headend = config.scrape_configs.find((j) => j.job_name === 'amr-headend')!;
    expect(headend.metrics_path).toBe('/metrics');
    expect(headend.static_configs![0].targets).toEqual([`headend:${cfg.HTTP_PORT}`]);
    // Gateways come from files in the mounted folder.
    const gateways = config.scrape_configs.find((j) => j.job_name === 'amr-gateways')!;
    const gwMount = mounts.find(([src]) => src === './deploy/prometheus/gateways')?.[1];
    expect(gwMount).toBeDefined();
    expect(gateways.file_sd_configs![0].files[0].startsWith(`${gwMount}/`)).toBe(true);
  });
});
