/**
 * Reading the provisioned Grafana dashboards and the metrics the code registers, for the deploy
 * tests. No Grafana or Prometheus runs on the development machines, so the dashboards are kept honest
 * by reading them against the sources: what prom-client registers and what the migrations create.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const grafanaDir = join(repoRoot, 'deploy/grafana');

const DatasourceRef = z.object({ type: z.string().min(1), uid: z.string().min(1) });
const Target = z.object({
  refId: z.string(),
  datasource: DatasourceRef.optional(),
  expr: z.string().optional(),
  legendFormat: z.string().optional(),
  rawSql: z.string().optional(),
});
export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: z.infer<typeof DatasourceRef>;
  targets?: z.infer<typeof Target>[];
  fieldConfig?: { defaults: { unit?: string } };
  panels?: Panel[];
}
const PanelSchema: z.ZodType<Panel> = z.lazy(() =>
  z.object({
    id: z.number().int(),
    type: z.string(),
    title: z.string(),
    description: z.string().optional(),
    datasource: DatasourceRef.optional(),
    targets: z.array(Target).optional(),
    fieldConfig: z.object({ defaults: z.object({ unit: z.string().optional() }) }).optional(),
    panels: z.array(PanelSchema).optional(),
  }),
);
const Variable = z.object({
  name: z.string(),
  type: z.string(),
  datasource: DatasourceRef.optional(),
  query: z.union([z.string(), z.object({ query: z.string().optional(), rawSql: z.string().optional() })]).optional(),
});
export const DashboardSchema = z.object({
  uid: z.string().min(1),
  title: z.string().min(1),
  panels: z.array(PanelSchema),
  templating: z.object({ list: z.array(Variable) }).optional(),
});
export type Dashboard = z.infer<typeof DashboardSchema>;

/** Every *.json of deploy/grafana/dashboards, parsed; a file that is no dashboard throws naming it. */
export function loadDashboards(): { file: string; json: Dashboard }[] {
  const dir = join(grafanaDir, 'dashboards');
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new Error(`deploy/grafana/dashboards/${file} is not valid JSON: ${(e as Error).message}`);
    }
    const parsed = DashboardSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`deploy/grafana/dashboards/${file} is not a dashboard: ${z.prettifyError(parsed.error)}`);
    return { file, json: parsed.data };
  });
}

/** Panels with those inside rows. */
export const allPanels = (d: Dashboard): Panel[] => d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

/** Panels that show data (rows and text panels show none, so need neither datasource nor unit). */
export const dataPanels = (d: Dashboard): Panel[] => allPanels(d).filter((p) => p.type !== 'row' && p.type !== 'text');

export interface RegisteredMetric { name: string; type: 'Counter' | 'Gauge' | 'Histogram' | 'Summary'; labels: string[]; file: string }

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return f.endsWith('.ts') && !f.endsWith('.test.ts') ? [p] : [];
  });
}

/**
 * The metrics prom-client registrations in the given source folders declare:
 * `new Counter|Gauge|Histogram|Summary({ name: '…', labelNames: [...], … registers: … })`.
 */
export function registeredMetrics(dirs: string[]): RegisteredMetric[] {
  const out: RegisteredMetric[] = [];
  for (const file of dirs.flatMap((d) => sourceFiles(join(repoRoot, d)))) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{\s*name:\s*'([a-zA-Z_:][\w:]*)'/g)) {
      // The registration's options run up to its `registers:` (every registration here names its registry).
      const end = src.indexOf('registers:', m.index);
      const body = src.slice(m.index, end < 0 ? undefined : end);
      const labels = /labelNames:\s*\[([^\]]*)\]/.exec(body)?.[1].match(/'[^']+'/g)?.map((l) => l.slice(1, -1)) ?? [];
      out.push({ name: m[2], type: m[1] as RegisteredMetric['type'], labels, file: file.slice(repoRoot.length) });
    }
  }
  return out;
}

/** Series names a registered metric is exposed under (a histogram is its _bucket, _sum and _count). */
export function seriesNames(m: RegisteredMetric): string[] {
  if (m.type === 'Histogram') return [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`];
  if (m.type === 'Summary') return [m.name, `${m.name}_sum`, `${m.name}_count`];
  return [m.name];
}

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** A PromQL selector found in an expression: the metric name and the label names it matches on. */
export interface Selector { metric: string; labels: string[] }

/**
 * The metric selectors of a PromQL expression (Grafana's $__rate_interval etc. allowed). Function and
 * aggregation names (followed by "("), keywords, label lists of by/without/on/ignoring, strings,
 * matchers and ranges are not metric names.
 */
export function promSelectors(expr: string): Selector[] {
  let s = expr
    .replace(/\$__\w+/g, '5m')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const found: Selector[] = [];
  // Selectors with matchers first: metric{label op "", …}
  s = s.replace(/(?<![\w:.])([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g, (_all, metric: string | undefined, body: string) => {
    const labels = [...body.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]);
    if (metric && !PROMQL_KEYWORDS.has(metric)) found.push({ metric, labels });
    return ' ';
  });
  s = s
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const m of s.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    if (!PROMQL_KEYWORDS.has(m[1])) found.push({ metric: m[1], labels: [] });
  }
  return found;
}

/** Labels every scraped series has besides its own: the target's, and a histogram bucket's bound. */
export const PROMETHEUS_LABELS = ['instance', 'job'];

/** Problems of one PromQL expression against the registered metrics: unknown names, unknown labels. */
export function promProblems(expr: string, metrics: RegisteredMetric[]): string[] {
  const bySeries = new Map(metrics.flatMap((m) => seriesNames(m).map((s) => [s, m] as const)));
  const problems: string[] = [];
  for (const sel of promSelectors(expr)) {
    const m = bySeries.get(sel.metric);
    if (!m) {
      const base = metrics.find((r) => r.name === sel.metric);
      problems.push(base ? `${sel.metric} is a ${base.type.toLowerCase()}: use ${seriesNames(base).join(' / ')}` : `${sel.metric} is registered nowhere in the sources`);
      continue;
    }
    const known = new Set([...m.labels, ...PROMETHEUS_LABELS, ...(sel.metric.endsWith('_bucket') ? ['le'] : [])]);
    for (const l of sel.labels) if (!known.has(l)) problems.push(`${sel.metric} has no label ${l} (labels: ${m.labels.join(', ') || 'none'})`);
  }
  return problems;
}

/** Every PromQL text of a dashboard: panel targets and Prometheus query variables. */
export function dashboardPromql(d: Dashboard): { where: string; expr: string }[] {
  return [
    ...allPanels(d).flatMap((p) => (p.targets ?? []).filter((t) => t.expr !== undefined).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr! }))),
    ...(d.templating?.list ?? [])
      .filter((v) => v.datasource?.type === 'prometheus' && v.query !== undefined)
      .map((v) => {
        const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
        // label_values(metric, label): the metric is its first argument.
        return { where: `variable $${v.name}`, expr: q.replace(/^label_values\(([^,]+),.*\)$/, '$1') };
      }),
  ];
}
