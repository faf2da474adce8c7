/**
 * #/meters/:id?from=YYYY-MM-DD&to=YYYY-MM-DD — one meter over a date range (calendar days of the
 * building's time zone): its consumption as a chart, and its register readings with each one's verdict,
 * every version (a correction is a new version: who, when, why; the replaced one struck through), the
 * consumption since the reading before, and the engineer's actions — accept or reject a reading with a
 * reason (POST /meters/:id/readings/review), or correct it (POST /meters/:id/readings/corrections).
 *
 * Data: GET /meters/:id/overview (readings with verdicts and reviews, from the tables themselves) for the
 * table and the reading just before the range; GET /meters/:id/readings (current versions) for the
 * consumption. Without a range in the hash the page shows the 12 months up to the meter's last reading,
 * so a meter that went quiet still opens on its history rather than on an empty year.
 *
 * A heat meter that keeps an archive (its hourly/daily records back-filled by the gateway) has an
 * "Archive" card over the same range: GET /meters/:id/archive — t1/t2/ΔT and flow/power per record
 * (hourly or daily, `?archive=` in the hash), and the records under НС with their reasons. A user
 * without heat:read (the inspector) gets no card.
 */
import { html, useAction, useEffect, useLoad, useMemo, useQuery, useRef, useState } from '../../../web-shared/ui.js';
import { api, ApiError, qs } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { addDays, consumptionSeries, dayStart, fmtDateTime, fmtDay, fmtNumber, isDay, localDay, rangePreset, readingConsumption } from '../../format.js';
import { archiveOption, consumptionOption } from '../../charts.js';
import { Badge, Card, Chart, DataTable, ErrorNote, Loaded, Page, errorText } from '../../ui/components.js';
import { fmtInterval, nsText } from '../../ui/heat.js';
import { Pager, pageOf } from '../../ui/pager.js';
import { fmtQty, quantityUnit, unitLabel } from '../../ui/units.js';
import { reasonsText } from './shared.js';

const ROWS_PER_PAGE = 50;
/** Most reading instants the table asks for in one range; the chart counts every reading regardless. */
const TABLE_LIMIT = 2000;
const PRESETS = ['this_month', 'last_month', 'year'];

/** Who/when/why lines for one reading row: who wrote this version (entry or correction), then the reviews. */
export function historyLines(r, tz) {
  const lines = [];
  // Version 1 written by a person is an entry; a higher version is a correction of what was there.
  if (r.created_by || r.reason) lines.push(t(r.version > 1 ? 'meter.correctedBy' : 'meter.enteredBy', { who: r.created_by ?? t('common.none'), when: fmtDateTime(r.received_at, tz), why: r.reason ?? t('common.none') }));
  for (const v of r.reviews ?? []) lines.push(t('meter.reviewedBy', { decision: tc('decision', v.decision), who: v.reviewed_by, when: fmtDateTime(v.reviewed_at, tz), why: v.reason }));
  if (!r.current) lines.push(t('meter.superseded'));
  return lines;
}

async function loadMeter(id, fromQ, toQ) {
  const head = await api(`/meters/${id}/overview?${qs({ limit: 1 })}`);
  const m = head.meter;
  const tz = m.timezone;
  let from = fromQ;
  let to = toQ;
  if (!from || !to) {
    const last = head.readings[0]?.time;
    const r = rangePreset('year', localDay(last ?? new Date(), tz));
    from = from ?? r.from;
    to = to ?? r.to;
  }
  if (from > to) return { m, tz, from, to, badRange: true };
  const start = dayStart(from, tz);
  const end = dayStart(addDays(to, 1), tz);
  const [page, before, series] = await Promise.all([
    api(`/meters/${id}/overview?${qs({ from: start, before: end, limit: TABLE_LIMIT })}`),
    api(`/meters/${id}/overview?${qs({ before: start, limit: 1 })}`),
    api(`/meters/${id}/readings?${qs({ resolution: 'raw', quantity: m.register_quantity, from: start, to: end, limit: 100000 })}`),
  ]);
  const previous = before.readings.find((r) => r.current) ?? null;
  const consumption = readingConsumption(series.raw ?? [], previous);
  return {
    m, tz, from, to, readings: page.readings, truncated: new Set(page.readings.map((r) => r.time)).size >= TABLE_LIMIT,
    consumption, byTime: new Map(consumption.map((c) => [new Date(c.time).getTime(), c.consumption])),
    unit: page.readings[0]?.unit ?? quantityUnit(m.register_quantity),
  };
}

function ActionForm({ m, r, kind, onDone, onCancel }) {
  const reason = useRef(null);
  const value = useRef(null);
  useEffect(() => { reason.current?.focus(); }, []);
  const [send, st] = useAction(async (why, v) => {
    if (kind === 'correct') await api(`/meters/${m.id}/readings/corrections`, { method: 'POST', body: { time: r.time, quantity: r.quantity, value: v, reason: why } });
    else await api(`/meters/${m.id}/readings/review`, { method: 'POST', body: { time: r.time, quantity: r.quantity, version: r.version, decision: kind, reason: why } });
    onDone();
  });
  async function submit(e) {
    e.preventDefault();
    const why = reason.current.value.trim();
    const err = e.currentTarget.querySelector('.form-error');
    if (why.length < 3) { err.textContent = t('meter.reasonRequired'); return; }
    let v;
    if (kind === 'correct') {
      v = Number(String(value.current.value).replace(',', '.'));
      if (value.current.value === '' || !Number.isFinite(v)) { err.textContent = t('meter.valueRequired'); return; }
    }
    err.textContent = '';
    await send(why, v);
  }
  const failure = st.error ? (st.error instanceof ApiError && st.error.status === 404 && kind !== 'correct' ? t('common.unavailable') : `${t('common.error')}: ${errorText(st.error)}`) : '';
  return html`<form class="inline" data-testid=${`action-form-${kind}`} onSubmit=${submit}>
    <strong>${t(`meter.${kind}`)}</strong>
    ${kind === 'correct' ? html`<label>${t('meter.newValue')}
      <input ref=${value} name="value" type="number" step="any" required value=${r.value ?? ''} data-testid="action-value" /></label>` : null}
    <label>${t('meter.reason')}
      <input ref=${reason} name="reason" required minlength="3" maxlength="500" placeholder=${t('meter.reason')} data-testid="action-reason" /></label>
    <button type="submit" class="primary small" disabled=${st.busy}>${t('meter.submit')}</button>
    <button type="button" class="small" onClick=${onCancel}>${t('meter.cancel')}</button>
    <span class="error form-error" role="alert">${failure}</span>
  </form>`;
}

function ReadingsTable({ data, page, onPage, open, setOpen, reload }) {
  const { m, tz, readings, byTime, unit } = data;
  const p = pageOf(readings, page, ROWS_PER_PAGE);
  const key = (r) => `${r.time}-v${r.version}`;
  if (!readings.length) return html`<p class="muted empty" data-testid="readings-empty">${t('overview.noReadingsPeriod')}</p>`;
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${t('meter.readings')}>
    <table class="data stack readings" data-testid="readings-table">
      <thead><tr>
        <th scope="col">${t('meter.time')}</th><th scope="col" class="num">${t('meter.value')}</th>
        <th scope="col" class="num">${t('overview.consumption')}</th><th scope="col" class="num">${t('meter.version')}</th>
        <th scope="col">${t('meter.source')}</th><th scope="col">${t('meter.verdict')}</th><th scope="col">${t('meter.reasons')}</th>
        <th scope="col">${t('meter.history')}</th><th scope="col">${t('meter.actions')}</th>
      </tr></thead>
      <tbody>${p.rows.map((r) => {
        const k = key(r);
        const c = r.current ? byTime.get(new Date(r.time).getTime()) : undefined;
        const row = html`<tr key=${k} data-testid=${`reading-${k}`} class=${r.current ? null : 'superseded'}>
          <td data-label=${t('meter.time')}>${fmtDateTime(r.time, tz)}</td>
          <td class="num" data-label=${t('meter.value')}>${r.value == null ? t('common.none') : fmtQty(r.value, r.unit)}</td>
          <td class="num" data-label=${t('overview.consumption')} data-testid=${`consumption-${k}`} data-value=${c ?? ''}>${c == null ? t('common.none') : fmtQty(c, unit)}</td>
          <td class="num" data-label=${t('meter.version')}>${r.version}</td>
          <td data-label=${t('meter.source')}>${tc('source', r.source)}</td>
          <td data-label=${t('meter.verdict')}><${Badge} prefix="verdict" code=${r.verdict?.status} /></td>
          <td data-label=${t('meter.reasons')}>${reasonsText(r.verdict?.reasons)}</td>
          <td class="history" data-label=${t('meter.history')} data-testid=${`history-${k}`}>${historyLines(r, tz).map((line) => html`<div>${line}</div>`)}</td>
          <td class="actions" data-label=${t('meter.actions')}>${r.current ? ['accept', 'reject', 'correct'].map((kind) => html`<button type="button" class="small"
              data-testid=${`${kind}-${k}`} aria-expanded=${open?.key === k && open.kind === kind ? 'true' : 'false'} onClick=${() => setOpen({ key: k, kind })}>${t(`meter.${kind}`)}</button>`) : null}</td>
        </tr>`;
        if (open?.key !== k) return row;
        return [row, html`<tr class="action-row" key=${`${k}-form`}><td colspan="9">
          <${ActionForm} m=${m} r=${r} kind=${open.kind} key=${open.kind} onCancel=${() => setOpen(null)} onDone=${() => { setOpen(null); reload(); }} />
        </td></tr>`];
      })}</tbody>
    </table>
  </div>
  <${Pager} total=${readings.length} page=${p.page} size=${ROWS_PER_PAGE} onPage=${onPage} testid="readings-pager" />`;
}

export function MeterScreen({ params }) {
  const id = Number(params.id);
  const [query, setQuery] = useQuery();
  const fromQ = isDay(query.from) ? query.from : null;
  const toQ = isDay(query.to) ? query.to : null;
  const state = useLoad(() => loadMeter(id, fromQ, toQ), [id, fromQ, toQ]);
  return html`<${Loaded} state=${state}>${(data) => html`<${MeterPage} data=${data} query=${query} setQuery=${setQuery} reload=${state.reload} />`}<//>`;
}

function MeterPage({ data, query, setQuery, reload }) {
  const { m, tz, from, to } = data;
  // Which reading's action form is open ({ key, kind }): one at a time.
  const [open, setOpenState] = useState(null);
  const today = localDay(new Date(), tz);
  const series = useMemo(() => (data.badRange ? null : consumptionSeries(data.consumption, from, to, tz)), [data]);
  const option = useMemo(() => (series ? consumptionOption(series.keys, series.values, data.unit, series.by) : null), [series]);
  const total = series ? series.values.reduce((s, v) => s + (v ?? 0), 0) : null;
  const place = m.premise_number ? t('overview.flat', { number: m.premise_number }) : tc('placement', m.placement);
  const setRange = (next) => setQuery({ ...next, page: '' });
  return html`<${Page} title=${`${t('meter.title')} ${m.serial_number}`} sub=${`${m.address}, ${place}`} titleTestid="meter-title" testid="meter-screen">
    <p><a href=${`#/buildings/${m.building_id}`}>${t('common.back')}</a></p>
    <dl class="facts">
      <dt>${t('meter.building')}</dt><dd><a href=${`#/buildings/${m.building_id}`}>${m.address}</a></dd>
      <dt>${t('common.resource')}</dt><dd>${tc('resource', m.resource)}, ${unitLabel(data.unit)}</dd>
      <dt>${t('meter.placement')}</dt><dd>${tc('placement', m.placement)}</dd>
      <dt>${t('meter.premise')}</dt><dd>${m.premise_number ?? t('common.none')}</dd>
      <dt>${t('gateway.lastSeen')}</dt><dd>${fmtDateTime(m.last_seen_at, tz)}</dd>
    </dl>
    <form class="filters range" onSubmit=${(e) => e.preventDefault()}>
      <label class="field"><span class="label">${t('common.from')}</span>
        <input type="date" value=${from} data-testid="range-from" onChange=${(e) => isDay(e.currentTarget.value) && setRange({ from: e.currentTarget.value, to })} /></label>
      <label class="field"><span class="label">${t('common.to')}</span>
        <input type="date" value=${to} data-testid="range-to" onChange=${(e) => isDay(e.currentTarget.value) && setRange({ from, to: e.currentTarget.value })} /></label>
      <div class="actions" role="group" aria-label=${t('overview.presets')}>
        ${PRESETS.map((p) => {
          const r = rangePreset(p, today);
          const on = r.from === from && r.to === to;
          return html`<button type="button" class=${on ? 'small primary' : 'small'} aria-pressed=${on ? 'true' : 'false'} data-testid=${`preset-${p}`} onClick=${() => setRange(r)}>${t(`overview.preset.${p}`)}</button>`;
        })}
      </div>
    </form>
    <p class="muted" data-testid="meter-range">${t('overview.dayRange', { from: fmtDay(from), to: fmtDay(to) })}</p>
    ${data.badRange ? html`<div class="note error" role="alert" data-testid="range-error">${t('overview.badRange', { from: fmtDay(from), to: fmtDay(to) })}</div>` : html`
      <${Card} title=${`${t('overview.consumption')}, ${unitLabel(data.unit)}`} testid="meter-chart-card"
          actions=${total != null ? html`<span data-testid="meter-total" data-value=${total}>${t('overview.total', { value: fmtQty(total, data.unit) })}</span>` : null}>
        <${Chart} option=${option} testid="meter-chart" height=${260} label=${t('overview.consumption')} empty=${t('common.noDataPeriod')} />
      <//>
      ${m.resource === 'heat' ? html`<${ArchiveCard} m=${m} tz=${tz} from=${from} to=${to} kind=${query.archive === 'hourly' || query.archive === 'daily' ? query.archive : null}
        setKind=${(k) => setQuery({ archive: k })} />` : null}
      <${Card} title=${t('meter.readings')} testid="readings-card">
        ${data.truncated ? html`<p class="muted">${t('overview.truncated')}</p>` : null}
        <${ReadingsTable} data=${data} page=${Number(query.page) || 0} onPage=${(n) => setQuery({ page: n ? String(n) : '' })}
          open=${open} setOpen=${setOpenState} reload=${reload} />
      <//>`}
  <//>`;
}


/** The archive over the range's days (instants of the building's zone); null when the user may not read it. */
async function loadArchive(id, tz, from, to, kind) {
  try {
    return await api(`/meters/${id}/archive?${qs({ from: dayStart(from, tz), to: dayStart(addDays(to, 1), tz), kind })}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return null;
    throw e;
  }
}

/** The meter's archive records of the range: hourly/daily choice, two charts, the НС list. */
function ArchiveCard({ m, tz, from, to, kind, setKind }) {
  const state = useLoad(() => loadArchive(m.id, tz, from, to, kind), [m.id, tz, from, to, kind]);
  const a = state.data;
  const rows = a?.records ?? [];
  const temps = useMemo(() => (rows.length ? archiveOption(rows, 'temps', tz, a.kind) : null), [a]);
  const flow = useMemo(() => (rows.length ? archiveOption(rows, 'flow', tz, a.kind) : null), [a]);
  if (state.error) return html`<${Card} title=${t('archive.title')} testid="archive-card"><${ErrorNote} error=${state.error} testid="archive-error" /><//>`;
  // No right to it, or a meter that keeps no archive: nothing to show.
  if (a === null || (a && !a.meter.records)) return null;
  if (a === undefined) return html`<p class="muted" aria-busy="true">${t('common.loading')}</p>`;
  const ns = rows.filter((r) => r.reasons.length);
  const kinds = html`<div class="actions" role="group" aria-label=${t('archive.kind')}>
    ${['hourly', 'daily'].map((k) => html`<button type="button" class=${a.kind === k ? 'small primary' : 'small'} aria-pressed=${a.kind === k ? 'true' : 'false'}
      data-testid=${`archive-kind-${k}`} onClick=${() => setKind(k)}>${t(`archive.${k}`, { n: a.counts[k] })}</button>`)}
  </div>`;
  return html`<${Card} title=${t('archive.title')} testid="archive-card" actions=${kinds}>
    ${rows.length ? html`
      <p class="muted" data-testid="archive-source">${t('archive.source', { count: rows.length })}</p>
      <${Chart} option=${temps} testid="archive-temps" height=${260} label=${t('archive.tempsChart')} />
      <${Chart} option=${flow} testid="archive-flow" height=${260} label=${t('archive.flowChart')} />
      <h3>${t('archive.ns')}</h3>
      <${DataTable} testid="archive-ns" className="data stack" caption=${t('archive.ns')} rows=${ns} rowKey=${(r) => r.time} rowTestid=${(r) => `archive-ns-${r.local_start}`}
        empty=${t('archive.noNs')} emptyTestid="archive-ns-empty" columns=${[
          { key: 'interval', label: t('archive.interval'), render: (r) => fmtInterval(r.local_start, r.local_end) },
          { key: 'reasons', label: t('archive.reasons'), render: (r) => nsText(r.reasons) },
          { key: 'ns_hours', label: t('archive.nsHours'), num: true, render: (r) => fmtNumber(r.ns_hours, 2) },
        ]} />`
      : html`<p class="muted empty" data-testid="archive-empty">${t('common.noDataPeriod')}</p>`}
  <//>`;
}
