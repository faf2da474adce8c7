/**
 * A building's meters: the list with filters (resource, placement, status, premise), the verification
 * date highlighted when it is past or due within 30 days (by the building's calendar), a new meter
 * (serial, make/model, resource, placement ОДПУ/ИПУ/МОП/нежилое, premise, поверка dates, register
 * digits and decimals, tariff zones, remote or manual), and one meter's page: its card, its
 * replacement (замена прибора) and the replacements it took part in, with undo of the last one and a
 * correction of their readings. GET/POST/PATCH /meters, POST/DELETE /meters/:id/replacement,
 * GET /meters/:id/replacements, PATCH /replacements/:id.
 */
import { html, useAction, useLoad, useQuery, useState } from '../../../web-shared/ui.js';
import { api, qs } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { Card, DataTable, Loaded, Page } from '../../ui/components.js';
import { BuildingFrame, options, PLACEMENTS, RESOURCES, unitOf, useBuilding } from './common.js';
import { changes, fmtDay, fmtInstant, fmtNum, FormNote, Input, localRefusal, num, refusal, SavedNote, str, useValues, zonedToday, zonedToIso } from './form.js';

const PREMISE_PLACEMENTS = new Set(['apartment', 'non_residential']);
const STATUSES = ['active', 'failed', 'removed'];
const FIELDS = ['placement', 'premise_id', 'resource', 'make', 'model', 'serial_number', 'register_digits', 'register_decimals', 'zones',
  'last_verified_on', 'verification_interval_years', 'next_verification_on', 'remote_reading', 'status', 'failed_on', 'place', 'installed_on', 'commissioned_on'];

/** 'overdue' | 'soon' (within 30 days) | null, by the building's today. */
export function verificationState(next, today) {
  if (!next) return null;
  if (next < today) return 'overdue';
  const limit = new Date(`${today}T00:00:00Z`);
  limit.setUTCDate(limit.getUTCDate() + 30);
  return next <= limit.toISOString().slice(0, 10) ? 'soon' : null;
}

function Verification({ meter, timezone }) {
  const state = verificationState(meter.next_verification_on, zonedToday(timezone));
  return html`<span class=${state ? `verif verif-${state}` : null} data-testid=${`verif-${meter.serial_number}`} data-state=${state ?? 'ok'}>
    ${fmtDay(meter.next_verification_on)}${state ? html` <span class="badge">${t(`registry.m.verif.${state}`)}</span>` : null}
  </span>`;
}

const zoneOptions = () => [1, 2, 3].map((z) => ({ value: String(z), label: t(`registry.m.zones.${z}`) }));

const fromRow = (m, premiseId) => ({
  placement: m.placement ?? (premiseId ? 'apartment' : 'apartment'), premise_id: String(m.premise_id ?? premiseId ?? ''), resource: m.resource ?? 'cold_water',
  make: m.make ?? '', model: m.model ?? '', serial_number: m.serial_number ?? '', register_digits: m.register_digits ?? '', register_decimals: m.register_decimals ?? '',
  zones: String(m.zones ?? 1), last_verified_on: m.last_verified_on ?? '', verification_interval_years: m.verification_interval_years ?? '',
  next_verification_on: m.next_verification_on ?? '', remote_reading: m.remote_reading ? 'remote' : 'manual', status: m.status ?? 'active', failed_on: m.failed_on ?? '',
  place: m.place ?? '', installed_on: m.installed_on ?? '', commissioned_on: m.commissioned_on ?? '',
});

/** The meter's fields as typed → the API's body, or the local refusal. */
function meterBody(values, { editing }) {
  const n = {
    register_digits: num(values.register_digits), register_decimals: num(values.register_decimals), verification_interval_years: num(values.verification_interval_years),
  };
  const bad = localRefusal({
    serial_number: !str(values.serial_number) ? t('registry.err.required') : null,
    premise_id: !editing && PREMISE_PLACEMENTS.has(values.placement) && !values.premise_id ? t('registry.m.premiseNeeded') : null,
    register_digits: Number.isNaN(n.register_digits) || (n.register_digits !== undefined && (n.register_digits < 1 || n.register_digits > 15)) ? t('registry.m.digitsRange') : null,
    register_decimals: Number.isNaN(n.register_decimals) || (n.register_decimals !== undefined && (n.register_decimals < 0 || n.register_decimals > 6)) ? t('registry.m.decimalsRange') : null,
    verification_interval_years: Number.isNaN(n.verification_interval_years) ? t('registry.err.notNumber') : null,
    failed_on: values.status === 'failed' && !values.failed_on ? t('registry.m.failedOnNeeded') : null,
  });
  if (bad) return { bad };
  const body = {
    make: values.make.trim(), model: str(values.model), serial_number: str(values.serial_number), ...n, zones: Number(values.zones),
    last_verified_on: str(values.last_verified_on), next_verification_on: str(values.next_verification_on), remote_reading: values.remote_reading === 'remote',
    place: str(values.place), installed_on: str(values.installed_on), commissioned_on: str(values.commissioned_on),
  };
  if (editing) { body.status = values.status; body.failed_on = str(values.failed_on); }
  return { body };
}

function MeterForm({ building, premises, row, premiseId, onSaved, onCancel }) {
  const [values, set] = useValues(fromRow(row ?? {}, premiseId));
  const [local, setLocal] = useState(null);
  const [save, state] = useAction(async (body) => (row ? api(`/meters/${row.id}`, { method: 'PATCH', body: changes(body, row) }) : api('/meters', { method: 'POST', body })));
  const refused = local ?? refusal(state.error, FIELDS);
  const onPremise = PREMISE_PLACEMENTS.has(values.placement);
  const wantKind = values.placement === 'apartment' ? 'residential' : 'non_residential';
  async function submit(e) {
    e.preventDefault();
    const { bad, body } = meterBody(values, { editing: !!row });
    setLocal(bad ?? null);
    if (bad) return;
    if (!row) {
      body.placement = values.placement;
      body.resource = values.resource;
      if (onPremise) body.premise_id = Number(values.premise_id); else body.building_id = building.id;
    }
    const saved = await save(body);
    if (saved) onSaved(saved);
  }
  const f = { values, set, refused };
  return html`<form class="registry-form" onSubmit=${submit} noValidate data-testid="meter-form">
    <${FormNote} refused=${refused} />
    <div class="form-grid">
      ${row ? html`<dl class="facts wide"><dt>${t('registry.m.placement')}</dt><dd>${tc('placement', row.placement)}</dd>
          <dt>${t('registry.m.resource')}</dt><dd>${tc('resource', row.resource)}</dd></dl>` : html`
        <${Input} ...${f} name="placement" label=${t('registry.m.placement')} kind="select" required options=${PLACEMENTS.map((p) => ({ value: p, label: t(`registry.m.placementLong.${p}`) }))} />
        ${onPremise ? html`<${Input} ...${f} name="premise_id" label=${t('registry.m.premise')} kind="select" required
          options=${[{ value: '', label: t('registry.choose') }, ...premises.filter((p) => p.kind === wantKind).map((p) => ({ value: String(p.id), label: p.number }))]} />` : null}
        <${Input} ...${f} name="resource" label=${t('registry.m.resource')} kind="select" required options=${options(RESOURCES, 'resource')} />`}
      <${Input} ...${f} name="serial_number" label=${t('registry.m.serial')} required />
      <${Input} ...${f} name="make" label=${t('registry.m.make')} />
      <${Input} ...${f} name="model" label=${t('registry.m.model')} />
      <${Input} ...${f} name="register_digits" label=${t('registry.m.digits')} kind="number" inputmode="numeric" hint=${t('registry.m.digitsHint')} />
      <${Input} ...${f} name="register_decimals" label=${t('registry.m.decimals')} kind="number" inputmode="numeric" />
      <${Input} ...${f} name="zones" label=${t('registry.m.zones')} kind="select" options=${zoneOptions()} />
      <${Input} ...${f} name="remote_reading" label=${t('registry.m.reading')} kind="select"
        options=${[{ value: 'manual', label: t('registry.m.manual') }, { value: 'remote', label: t('registry.m.remote') }]} />
      <${Input} ...${f} name="last_verified_on" label=${t('registry.m.lastVerified')} kind="date" />
      <${Input} ...${f} name="verification_interval_years" label=${t('registry.m.interval')} kind="number" inputmode="numeric" />
      <${Input} ...${f} name="next_verification_on" label=${t('registry.m.nextVerification')} kind="date" hint=${t('registry.m.nextHint')} />
      <${Input} ...${f} name="installed_on" label=${t('registry.m.installed')} kind="date" />
      <${Input} ...${f} name="place" label=${t('registry.m.place')} />
      ${row ? html`<${Input} ...${f} name="status" label=${t('registry.m.status')} kind="select" options=${options(STATUSES, 'registry.m.st')} />` : null}
      ${row && values.status === 'failed' ? html`<${Input} ...${f} name="failed_on" label=${t('registry.m.failedOn')} kind="date" required />` : null}
    </div>
    <div class="actions">
      <button type="submit" class="primary" disabled=${state.busy} data-testid="meter-save">${t('registry.save')}</button>
      ${onCancel ? html`<button type="button" onClick=${onCancel}>${t('registry.cancel')}</button>` : null}
    </div>
  </form>`;
}

export function MetersScreen({ params }) {
  const id = Number(params.id);
  const building = useBuilding(id);
  const [query, setQuery] = useQuery();
  const status = query.status ?? 'active';
  const filter = { building_id: id, resource: query.resource, placement: query.placement, premise_id: query.premise_id, status: status === 'all' ? undefined : status, limit: 5000 };
  const data = useLoad(async () => {
    const [meters, premises] = await Promise.all([api(`/meters?${qs(filter)}`), api(`/premises?building_id=${id}&limit=5000`)]);
    premises.sort((a, b) => a.number.localeCompare(b.number, 'ru', { numeric: true }));
    return { meters, premises };
  }, [JSON.stringify(filter)]);
  const [adding, setAdding] = useState(false);
  const [saved, setSaved] = useState(null);
  const select = (name, label, opts) => html`<label>${label}
    <select value=${name === 'status' ? status : (query[name] ?? '')} data-testid=${`meter-filter-${name}`} onChange=${(e) => setQuery({ [name]: e.currentTarget.value })}>
      ${name === 'status' ? null : html`<option value="">${t('common.all')}</option>`}
      ${opts.map((o) => html`<option value=${o.value}>${o.label}</option>`)}
    </select></label>`;
  return html`<${BuildingFrame} id=${id} building=${building} tab="/meters" testid="registry-meters" title=${t('registry.tab.meters')}>${(b) => html`
    <${SavedNote} show=${!!saved} text=${saved} />
    <${Loaded} state=${data}>${(d) => {
      const premiseNo = new Map(d.premises.map((p) => [p.id, p.number]));
      const columns = [
        { key: 'serial_number', label: t('registry.m.serial'), render: (m) => html`<a href=${`#/registry/meters/${m.id}`} data-testid=${`meter-link-${m.serial_number}`}>${m.serial_number}</a>` },
        { key: 'resource', label: t('registry.m.resource'), render: (m) => html`${tc('resource', m.resource)}, ${unitOf(m.resource)}` },
        { key: 'placement', label: t('registry.m.placement'), render: (m) => tc('placement', m.placement) },
        { key: 'premise', label: t('registry.m.premise'), render: (m) => (m.premise_id ? premiseNo.get(m.premise_id) ?? m.premise_id : t('common.none')) },
        { key: 'make', label: t('registry.m.makeModel'), render: (m) => [m.make, m.model].filter(Boolean).join(' ') || t('common.none') },
        { key: 'zones', label: t('registry.m.zonesShort'), num: true },
        { key: 'remote', label: t('registry.m.reading'), render: (m) => (m.remote_reading ? t('registry.m.remote') : t('registry.m.manual')) },
        { key: 'next', label: t('registry.m.nextVerification'), render: (m) => html`<${Verification} meter=${m} timezone=${b.timezone} />` },
        { key: 'status', label: t('registry.m.status'), render: (m) => tc('registry.m.st', m.status) },
      ];
      return html`
        ${adding ? html`<${Card} title=${t('registry.m.new')} testid="meter-new">
          <${MeterForm} building=${b} premises=${d.premises} premiseId=${query.premise_id} onCancel=${() => setAdding(false)}
            onSaved=${(m) => { setAdding(false); setSaved(t('registry.m.saved', { serial: m.serial_number })); data.reload(); }} />
        <//>` : null}
        <${Card} actions=${html`<button type="button" class="primary" data-testid="meter-add" onClick=${() => { setSaved(null); setAdding(true); }}>${t('registry.m.add')}</button>`}>
          <div class="filters">
            ${select('resource', t('registry.m.resource'), options(RESOURCES, 'resource'))}
            ${select('placement', t('registry.m.placement'), options(PLACEMENTS, 'placement'))}
            ${select('status', t('registry.m.status'), [...options(STATUSES, 'registry.m.st'), { value: 'all', label: t('common.all') }])}
            ${select('premise_id', t('registry.m.premise'), d.premises.map((p) => ({ value: String(p.id), label: p.number })))}
          </div>
          <div class="registry-stack"><${DataTable} columns=${columns} rows=${d.meters} testid="meters-list" rowTestid=${(m) => `meter-row-${m.serial_number}`}
            empty=${t('registry.m.none')} caption=${t('registry.tab.meters')} /></div>
        <//>`;
    }}<//>`}
  <//>`;
}

// ---------------------------------------------------------------- one meter: card and replacement

function ReplaceForm({ meter, timezone, onDone }) {
  const [values, set] = useValues({ replaced_at: '', removal_reading: '', serial_number: '', make: meter.make ?? '', model: '', installation_reading: '0', work_order: '', reason: '',
    register_digits: meter.register_digits ?? '', last_verified_on: '', next_verification_on: '' });
  const [local, setLocal] = useState(null);
  const [replace, state] = useAction((body) => api(`/meters/${meter.id}/replacement`, { method: 'POST', body }));
  const fields = ['replaced_at', 'removal_reading', 'installation_reading', 'serial_number', 'work_order', 'reason', 'register_digits', 'last_verified_on', 'next_verification_on'];
  const refused = local ?? refusal(state.error, fields);
  async function submit(e) {
    e.preventDefault();
    const removal = num(values.removal_reading);
    const installation = num(values.installation_reading);
    const digits = num(values.register_digits);
    const bad = localRefusal({
      replaced_at: !values.replaced_at ? t('registry.err.required') : null,
      removal_reading: removal === undefined ? t('registry.err.required') : Number.isNaN(removal) || removal < 0 ? t('registry.err.notNumber') : null,
      installation_reading: installation === undefined ? t('registry.err.required') : Number.isNaN(installation) || installation < 0 ? t('registry.err.notNumber') : null,
      serial_number: !str(values.serial_number) ? t('registry.err.required') : null,
      register_digits: Number.isNaN(digits) ? t('registry.err.notNumber') : null,
    });
    setLocal(bad);
    if (bad) return;
    const out = await replace({
      replaced_at: zonedToIso(values.replaced_at, timezone), removal_reading: removal, installation_reading: installation,
      work_order: str(values.work_order), reason: str(values.reason),
      new_meter: {
        serial_number: str(values.serial_number), make: values.make.trim(), model: str(values.model), register_digits: digits, zones: meter.zones,
        register_decimals: meter.register_decimals ?? undefined, remote_reading: meter.remote_reading,
        last_verified_on: str(values.last_verified_on), next_verification_on: str(values.next_verification_on),
        verification_interval_years: meter.verification_interval_years ?? undefined,
      },
    });
    if (out) onDone(out);
  }
  const f = { values, set, refused };
  const unit = unitOf(meter.resource);
  return html`<form class="registry-form" onSubmit=${submit} noValidate data-testid="replace-form">
    <${FormNote} refused=${refused} />
    <p class="muted">${t('registry.r.explain')}</p>
    <div class="form-grid">
      <${Input} ...${f} name="replaced_at" label=${t('registry.r.when', { tz: timezone })} kind="datetime" required />
      <${Input} ...${f} name="removal_reading" label=${t('registry.r.removal', { unit })} kind="number" required hint=${t('registry.r.removalHint')} />
      <${Input} ...${f} name="work_order" label=${t('registry.r.workOrder')} />
      <${Input} ...${f} name="serial_number" label=${t('registry.r.newSerial')} required />
      <${Input} ...${f} name="make" label=${t('registry.m.make')} />
      <${Input} ...${f} name="model" label=${t('registry.m.model')} />
      <${Input} ...${f} name="installation_reading" label=${t('registry.r.installation', { unit })} kind="number" required />
      <${Input} ...${f} name="register_digits" label=${t('registry.m.digits')} kind="number" inputmode="numeric" />
      <${Input} ...${f} name="last_verified_on" label=${t('registry.m.lastVerified')} kind="date" />
      <${Input} ...${f} name="next_verification_on" label=${t('registry.m.nextVerification')} kind="date" />
      <${Input} ...${f} name="reason" label=${t('registry.r.reason')} />
    </div>
    <div class="actions"><button type="submit" class="primary" disabled=${state.busy} data-testid="replace-save">${t('registry.r.do')}</button></div>
  </form>`;
}

function CorrectForm({ replacement, onDone, onCancel }) {
  const [values, set] = useValues({ removal_reading: String(replacement.removal_reading ?? ''), installation_reading: String(replacement.installation_reading ?? ''), reason: '' });
  const [local, setLocal] = useState(null);
  const [correct, state] = useAction((body) => api(`/replacements/${replacement.id}`, { method: 'PATCH', body }));
  const refused = local ?? refusal(state.error, ['removal_reading', 'installation_reading', 'reason']);
  async function submit(e) {
    e.preventDefault();
    const removal = num(values.removal_reading);
    const installation = num(values.installation_reading);
    const bad = localRefusal({
      removal_reading: Number.isNaN(removal) ? t('registry.err.notNumber') : null,
      installation_reading: Number.isNaN(installation) ? t('registry.err.notNumber') : null,
      reason: (str(values.reason) ?? '').length < 3 ? t('registry.r.reasonNeeded') : null,
    });
    setLocal(bad);
    if (bad) return;
    const body = { reason: str(values.reason) };
    if (removal !== replacement.removal_reading) body.removal_reading = removal;
    if (installation !== replacement.installation_reading) body.installation_reading = installation;
    if (await correct(body)) onDone();
  }
  const f = { values, set, refused };
  return html`<form class="registry-form" onSubmit=${submit} noValidate data-testid="correct-form">
    <${FormNote} refused=${refused} />
    <div class="form-grid">
      <${Input} ...${f} name="removal_reading" label=${t('registry.r.removalShort')} kind="number" />
      <${Input} ...${f} name="installation_reading" label=${t('registry.r.installationShort')} kind="number" />
      <${Input} ...${f} name="reason" label=${t('registry.r.correctReason')} required />
    </div>
    <div class="actions"><button type="submit" class="primary" disabled=${state.busy} data-testid="correct-save">${t('registry.save')}</button>
      <button type="button" onClick=${onCancel}>${t('registry.cancel')}</button></div>
  </form>`;
}

function Replacements({ meter, timezone, rows, serials, onChanged }) {
  const [correcting, setCorrecting] = useState(null);
  const [undoReason, setUndoReason] = useState('');
  const [undo, undoState] = useAction(() => api(`/meters/${meter.id}/replacement${undoReason.trim() ? `?${qs({ reason: undoReason.trim() })}` : ''}`, { method: 'DELETE' }));
  const last = rows.find((r) => !r.undone_at);
  const undoRefused = refusal(undoState.error);
  const columns = [
    { key: 'replaced_at', label: t('registry.r.whenShort'), render: (r) => fmtInstant(r.replaced_at, timezone) },
    { key: 'meters', label: t('registry.r.meters'), render: (r) => html`<a href=${`#/registry/meters/${r.old_meter_id}`}>${serials.get(r.old_meter_id) ?? r.old_meter_id}</a> → <a href=${`#/registry/meters/${r.new_meter_id}`}>${serials.get(r.new_meter_id) ?? r.new_meter_id}</a>` },
    { key: 'removal', label: t('registry.r.removalShort'), num: true, render: (r) => fmtNum(r.removal_reading) },
    { key: 'installation', label: t('registry.r.installationShort'), num: true, render: (r) => fmtNum(r.installation_reading) },
    { key: 'work_order', label: t('registry.r.workOrder') },
    { key: 'state', label: t('registry.m.status'), render: (r) => (r.undone_at ? t('registry.r.undone', { when: fmtInstant(r.undone_at, timezone), who: r.undone_by ?? '' }) : r.version > 1 ? t('registry.r.corrected', { version: r.version }) : t('registry.r.inForce')) },
    { key: 'actions', label: t('registry.actions'), render: (r) => (r.undone_at ? null : html`<button type="button" class="small" data-testid=${`correct-${r.id}`} onClick=${() => setCorrecting(r)}>${t('registry.r.correct')}</button>`) },
  ];
  return html`
    <div class="registry-stack"><${DataTable} columns=${columns} rows=${rows} testid="replacements-list" rowTestid=${(r) => `replacement-${r.id}`} empty=${t('registry.r.none')} caption=${t('registry.r.title')} /></div>
    ${correcting ? html`<${CorrectForm} key=${correcting.id} replacement=${correcting} onCancel=${() => setCorrecting(null)} onDone=${() => { setCorrecting(null); onChanged(t('registry.r.correctedSaved')); }} />` : null}
    ${last ? html`<div class="undo">
      <${FormNote} refused=${undoRefused} testid="undo-error" />
      <div class="field"><label class="label" for="undo-reason">${t('registry.r.undoReason')}</label>
        <input id="undo-reason" value=${undoReason} data-testid="undo-reason" onInput=${(e) => setUndoReason(e.currentTarget.value)} /></div>
      <button type="button" data-testid="undo-replacement" disabled=${undoState.busy}
        onClick=${async () => { if (window.confirm(t('registry.r.undoConfirm'))) { if (await undo()) onChanged(t('registry.r.undoneSaved')); } }}>${t('registry.r.undo')}</button>
    </div>` : null}`;
}

export function MeterScreen({ params }) {
  const id = Number(params.id);
  const data = useLoad(async () => {
    const meter = await api(`/meters/${id}`);
    const [building, replacements, premises] = await Promise.all([
      api(`/buildings/${meter.building_id}`), api(`/meters/${id}/replacements`), api(`/premises?building_id=${meter.building_id}&limit=5000`)]);
    // The other meters of its replacements, by serial: "HM-1 → HM-2" says more than ids.
    const others = [...new Set(replacements.flatMap((r) => [r.old_meter_id, r.new_meter_id]))].filter((m) => m !== id);
    const serials = new Map([[id, meter.serial_number], ...(await Promise.all(others.map((m) => api(`/meters/${m}`).then((x) => [m, x.serial_number], () => [m, String(m)]))))]);
    return { meter, building, replacements, premises, serials };
  }, [id]);
  const [saved, setSaved] = useState(null);
  const [replacing, setReplacing] = useState(false);
  if (data.error) {
    return html`<${Page} title=${t('registry.m.card')} testid="registry-refused">
      <section class="card notice" role="alert" data-testid="registry-not-found"><p>${refusal(data.error).summary}</p><a href="#/registry">${t('registry.toBuildings')}</a></section>
    <//>`;
  }
  return html`<${Loaded} state=${data}>${(d) => {
    const { meter: m, building: b } = d;
    const premise = d.premises.find((p) => p.id === m.premise_id);
    const done = (text) => { setSaved(text); setReplacing(false); data.reload(); };
    return html`<${Page} title=${t('registry.m.titleOne', { serial: m.serial_number })} testid="registry-meter">
      <p class="registry-address">${b.address}${premise ? `, ${t('registry.m.premiseShort', { number: premise.number })}` : ''}</p>
      <nav class="registry-tabs" aria-label=${t('registry.tabs')}>
        <a href=${`#/registry/buildings/${b.id}/meters`} data-testid="back-to-meters">${t('registry.m.backToList')}</a>
        <a href=${`#/meters/${m.id}`}>${t('registry.m.readings')}</a>
      </nav>
      <${SavedNote} show=${!!saved} text=${saved} />
      <dl class="facts" data-testid="meter-facts">
        <dt>${t('registry.m.status')}</dt><dd data-testid="meter-status">${tc('registry.m.st', m.status)}</dd>
        <dt>${t('registry.m.nextVerification')}</dt><dd><${Verification} meter=${m} timezone=${b.timezone} /></dd>
      </dl>
      <div class="grid2">
        <${Card} title=${t('registry.m.edit')}>
          <${MeterForm} key=${m.updated_at} building=${b} premises=${d.premises} row=${m} onSaved=${() => done(t('registry.saved'))} />
        <//>
        <${Card} title=${t('registry.r.title')} testid="replacements"
          actions=${m.status !== 'removed' ? html`<button type="button" data-testid="replace-open" aria-expanded=${replacing} onClick=${() => { setSaved(null); setReplacing(!replacing); }}>${t('registry.r.open')}</button>` : null}>
          ${replacing ? html`<${ReplaceForm} meter=${m} timezone=${b.timezone} onDone=${(out) => done(t('registry.r.saved', { serial: out.new_meter.serial_number }))} />` : null}
          <${Replacements} key=${d.replacements.map((r) => `${r.id}.${r.version}.${r.undone_at}`).join()} meter=${m} timezone=${b.timezone} rows=${d.replacements} serials=${d.serials} onChanged=${done} />
        <//>
      </div>
    <//>`;
  }}<//>`;
}
