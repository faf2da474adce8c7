/**
 * What arrived from gateways and could not be stored. Quarantine: readings the ingest writer held
 * back (unknown gateway or meter, a conflicting value, an impossible time — the reason's code in the
 * user's language, the writer's detail under it), resolved with a written reason that the API keeps
 * with who and when. Dead letters: messages that could not be read at all, kept as they arrived.
 */
import { html, useState, useCallback, useLoad, useAction, useQuery } from '../../../web-shared/ui.js';
import { api, qs } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { fmtNumber } from '../../format.js';
import { Card, DataTable, ErrorNote, Field, Loaded } from '../../ui/components.js';
import { AdminPage, when } from './common.js';

const STATES = ['open', 'resolved', 'all'];

/** A gateway's unit as the product writes it (кВт·ч / kWh); one it does not know, as sent. */
const UNIT_KEYS = { kWh: 'unit.kWh', m3: 'unit.m3', 'm³': 'unit.m3', Gcal: 'unit.Gcal', GJ: 'unit.GJ' };
const unitText = (u) => (u == null ? '' : UNIT_KEYS[u] ? t(UNIT_KEYS[u]) : u);

/** The reading as the gateway sent it, in one line: each value with its unit and time. */
function readingText(reading) {
  const values = Array.isArray(reading?.values) ? reading.values : [];
  if (!values.length) return t('common.none');
  return values.map((v) => `${fmtNumber(v.value, 3)} ${unitText(v.unit)} · ${when(v.time ?? reading.gatewayTime)}`.trim()).join('; ');
}

const meterText = (ref) => (ref && typeof ref === 'object' ? [ref.bus, ref.address].filter((x) => x != null).join(', ') || (ref.meterKey ?? '') : String(ref ?? ''));

function Resolve({ item, onResolved }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [short, setShort] = useState(false);
  const [resolve, state] = useAction(useCallback(async () => {
    const done = await api(`/quarantine/${item.id}/resolve`, { method: 'POST', body: { resolution: reason.trim() } });
    onResolved(done);
    return done;
  }, [item.id, reason, onResolved]));
  if (!open) {
    return html`<button type="button" class="small" data-testid=${`q-resolve-${item.id}`} aria-label=${t('admin.q.resolveLabel', { id: item.id })} onClick=${() => setOpen(true)}>${t('admin.q.resolve')}</button>`;
  }
  function submit(e) {
    e.preventDefault();
    if (reason.trim().length < 3) { setShort(true); return; }
    setShort(false);
    resolve();
  }
  return html`<form class="admin-form resolve" onSubmit=${submit} data-testid=${`q-resolve-form-${item.id}`}>
    <${Field} label=${t('admin.q.resolveReason')} hint=${t('admin.q.resolveHint')} error=${short ? t('admin.q.reasonShort') : null}>
      <textarea name="resolution" rows="2" maxlength="500" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea><//>
    <div class="actions">
      <button type="submit" class="primary small" disabled=${state.busy} data-testid=${`q-resolve-save-${item.id}`}>${t('admin.save')}</button>
      <button type="button" class="small" onClick=${() => setOpen(false)}>${t('admin.cancel')}</button>
    </div>
    <${ErrorNote} error=${state.error} />
  </form>`;
}

export function QuarantineScreen({ me }) {
  const [query, setQuery] = useQuery();
  const state = STATES.includes(query.state) ? query.state : 'open';
  const items = useLoad(() => api(`/quarantine?${qs({ state, gateway_id: query.gateway })}`), [state, query.gateway]);
  const reload = items.reload;
  const columns = [
    { key: 'received_at', label: t('admin.q.received'), render: (x) => when(x.received_at) },
    { key: 'gateway_id', label: t('admin.q.gateway'), render: (x) => html`<code>${x.gateway_id}</code>` },
    { key: 'meter', label: t('admin.q.meter'), render: (x) => meterText(x.meter_ref) },
    { key: 'reading', label: t('admin.q.reading'), render: (x) => readingText(x.reading) },
    { key: 'reason', label: t('admin.q.reason'), render: (x) => html`<span class="badge q-reason" data-code=${x.reason}>${tc('admin.q.reason', x.reason)}</span>${x.detail ? html`<div class="muted detail">${x.detail}</div>` : null}` },
    {
      key: 'resolution', label: t('admin.q.resolution'), render: (x) => (x.resolved_at
        ? html`<span data-testid=${`q-resolution-${x.id}`}>${t('admin.q.resolvedBy', { who: x.resolved_by, when: when(x.resolved_at), why: x.resolution })}</span>`
        : html`<${Resolve} item=${x} onResolved=${reload} />`),
    },
  ];
  return html`<${AdminPage} title=${t('admin.quarantine')} testid="admin-quarantine" me=${me}>
    <p class="muted">${t('admin.q.intro')}</p>
    <div class="filters">
      <${Field} label=${t('admin.q.state')}>
        <select name="state" value=${state} onChange=${(e) => setQuery({ state: e.currentTarget.value })} data-testid="q-state">
          ${STATES.map((s) => html`<option value=${s}>${t(`admin.q.${s}`)}</option>`)}
        </select><//>
      <${Field} label=${t('admin.q.gateway')}>
        <input name="gateway" value=${query.gateway ?? ''} onChange=${(e) => setQuery({ gateway: e.currentTarget.value.trim() })} /><//>
    </div>
    <${Card}>
      <${Loaded} state=${items}>${(rows) => html`<${DataTable} columns=${columns} rows=${rows} testid="quarantine-table" rowTestid=${(x) => `q-row-${x.id}`}
        empty=${t('admin.q.empty')} caption=${t('admin.quarantine')} />`}<//>
    <//>
  <//>`;
}

export function DeadLettersScreen({ me }) {
  const [query, setQuery] = useQuery();
  const letters = useLoad(() => api(`/dead-letters?${qs({ gateway_id: query.gateway })}`), [query.gateway]);
  const columns = [
    { key: 'received_at', label: t('admin.q.received'), render: (x) => when(x.received_at) },
    { key: 'gateway_id', label: t('admin.q.gateway'), render: (x) => (x.gateway_id ? html`<code>${x.gateway_id}</code>` : t('common.none')) },
    { key: 'topic', label: t('admin.dl.topic'), render: (x) => html`<code>${x.topic}</code>` },
    // The server's own words: dead-letter reasons are parser messages, not codes.
    { key: 'reason', label: t('admin.dl.reason'), render: (x) => html`<span lang="en">${x.reason}</span>` },
    { key: 'payload', label: t('admin.dl.payload'), render: (x) => html`<code class="payload">${x.payload.length > 300 ? `${x.payload.slice(0, 300)}…` : x.payload}</code>` },
  ];
  return html`<${AdminPage} title=${t('admin.deadLetters')} testid="admin-dead-letters" me=${me}>
    <p class="muted">${t('admin.dl.intro')}</p>
    <div class="filters">
      <${Field} label=${t('admin.q.gateway')}>
        <input name="gateway" value=${query.gateway ?? ''} onChange=${(e) => setQuery({ gateway: e.currentTarget.value.trim() })} /><//>
    </div>
    <${Card}>
      <${Loaded} state=${letters}>${(rows) => html`<${DataTable} columns=${columns} rows=${rows} testid="dead-letters-table" empty=${t('admin.dl.empty')} caption=${t('admin.deadLetters')} />`}<//>
    <//>
  <//>`;
}
