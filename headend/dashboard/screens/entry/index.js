/**
 * #/buildings/:id/entry?premise=… — staff enter readings by hand: the ИПУ of one premise, several at once,
 * or the building's own meters (ОДПУ and common-area). The meter inspector walks the stairwell with a
 * phone, so the premise is picked by typing its number and every meter of it is one card with one input
 * — a multi-zone electricity meter one input per zone (day, night, peak), sent as one item per zone.
 *
 * The picker selects the premise whose number EQUALS what was typed (1 among 10–19 included) or the
 * one chosen from the list of prefix matches; the cards always show the selected target's meters (the
 * form is keyed by the target, so changing the flat starts from empty inputs), and an answer that comes
 * back after the target changed is dropped, never shown on another flat.
 *
 * The head-end applies the same rules as for residents (src/collection): the batch is all or nothing,
 * a refusal names each meter (400 details "readings.N"), and consumption far above the meter's
 * average answers 409 until the inspector confirms what they saw. Entry outside the collection
 * window is allowed only to roles with that privilege; the API decides, the page shows its answer.
 * Without signal the entries wait in the offline queue (entry-queue.js) and go out when it returns.
 *
 * Data: GET /buildings/:id/overview (meters with zones and each zone's last reading) and
 * GET /premises?building_id — two calls for the whole page; POST /premises/:id/readings or
 * POST /buildings/:id/readings to save.
 */
/* global addEventListener, removeEventListener */
import { html, useEffect, useLoad, useParams, useQuery, useRef, useState } from '../../../web-shared/ui.js';
import { api, ApiError, qs } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { fmtDateTime, fmtNumber } from '../../format.js';
import { Loaded } from '../../ui/components.js';
import { confirmRefused, enqueue, flushQueue, forgetRefused, isMine, loadQueue, othersPending, pendingCount, QUEUE_EVENT, startQueue } from '../../entry-queue.js';
import { meterItems } from '../../../web-shared/entry-fields.js';
import { BUILDING, detailsByField, exactPremise, fieldKey, matchPremises, metersOf, parseValue, refusalText, unitLabel, zonesOf } from './fields.js';

/** Redraws on every change of the offline queue (its state is read fresh at each render: the signed-in user may change). */
function useQueueChanges() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const on = () => setTick((n) => n + 1);
    addEventListener(QUEUE_EVENT, on);
    return () => removeEventListener(QUEUE_EVENT, on);
  }, []);
}

function EntryScreen() {
  const params = useParams();
  const [query] = useQuery();
  const id = Number(params.id);
  useEffect(() => { startQueue(); }, []);
  const state = useLoad(async () => {
    const [ov, premises] = await Promise.all([
      api(`/buildings/${id}/overview`),
      api(`/premises?${qs({ building_id: id, limit: 5000 })}`),
    ]);
    return { ov, premises };
  }, [id]);
  return html`<${Loaded} state=${state}>${(d) => html`<${Entry} id=${id} ov=${d.ov} premises=${d.premises} initial=${query.premise ?? ''} />`}<//>`;
}

function Entry({ id, ov, premises, initial }) {
  useQueueChanges();
  const [target, setTarget] = useState(() => (initial === BUILDING || premises.some((p) => String(p.id) === initial) ? initial : ''));
  const [typed, setTyped] = useState(() => (target === BUILDING ? '' : (premises.find((p) => String(p.id) === target)?.number ?? '')));
  const selectRef = useRef(null);
  // The picker's current target, read by a submission to refuse a stale list.
  const targetRef = useRef(target);
  targetRef.current = target;

  // Typing decides: the premise whose number equals what was typed, else none until one is chosen from the list.
  const onType = (e) => {
    const value = e.currentTarget.value;
    setTyped(value);
    setTarget(String(exactPremise(premises, value)?.id ?? ''));
  };
  const onChoose = (e) => {
    const value = e.currentTarget.value;
    const chosen = premises.find((p) => String(p.id) === value);
    if (chosen) setTyped(chosen.number); // the box says which flat the cards are
    setTarget(value);
  };

  const n = pendingCount();
  const others = othersPending();
  const counter = [n ? t('entry.queueCount', { n }) : '', others ? t('entry.queueOthers', { n: others }) : ''].filter(Boolean).join(' · ');
  const meters = target ? metersOf(ov.meters, target) : [];

  let body;
  if (!target) body = html`<p class="muted" data-testid="entry-pick-first">${t('entry.pickFirst')}</p><div role="status" data-testid="entry-status"></div>`;
  else if (!meters.length) body = html`<p class="muted" data-testid="entry-no-meters">${t('entry.noMeters')}</p><div role="status" data-testid="entry-status"></div>`;
  else body = html`<${EntryForm} key=${target} id=${id} ov=${ov} premises=${premises} shownFor=${target} meters=${meters} targetRef=${targetRef} selectRef=${selectRef} />`;

  return html`<div class="page entry-page">
    <p><a href=${`#/buildings/${id}`}>${t('common.back')}</a></p>
    <h1>${t('entry.title')} <span class="queue-count" data-testid="entry-queue-count" data-count=${String(n)} data-others=${String(others)}>${counter}</span></h1>
    <p class="entry-building" data-testid="entry-building">${ov.building.address}</p>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>${t('entry.premise')} <input type="search" inputmode="numeric" placeholder=${t('entry.premiseSearch')} data-testid="premise-search" value=${typed} onInput=${onType} /></label>
      <label>${t('entry.target')} <select data-testid="premise-select" ref=${selectRef} value=${target} onChange=${onChoose}>
        <option value="">${t('entry.pick')}</option>
        <option value=${BUILDING}>${t('entry.buildingMeters')}</option>
        ${matchPremises(premises, typed).map((p) => html`<option key=${p.id} value=${String(p.id)}>${t('entry.premise')} ${p.number}</option>`)}
      </select></label>
    </form>
    ${body}
  </div>`;
}

/** What waits in the queue for this meter, and what came back refused, on its card. */
function QueueSlot({ meterId, shownFor, tz }) {
  const mine = loadQueue().filter((e) => isMine(e) && e.meter_id === meterId && String(e.target) === String(shownFor));
  return html`<div class="queue-slot" data-testid=${`entry-queue-${meterId}`}>${mine.map((e) => {
    const value = e.items.map((i) => `${i.zone ? `${t(`entry.zone.${i.zone}`)} ` : ''}${fmtNumber(i.value, 3)}`).join(', ');
    const time = fmtDateTime(e.taken_at, tz);
    if (e.state === 'queued') return html`<div key=${e.key} class="badge queued" data-testid=${`entry-queued-${meterId}`}>${t('entry.queuedAt', { value, time })}</div>`;
    const lines = [...detailsByField(e.error?.details, e.items).values()].flat();
    return html`<div key=${e.key} class="error" data-testid=${`entry-queue-refused-${meterId}`}>${t('entry.queueRefused', { value, time })} ${(lines.length ? lines : [refusalText(e.error?.message)]).join('; ')}${
      // Asked to confirm (far above the average, a rollover): the inspector looks at the meter again and confirms here.
      e.error?.status === 409 ? html`<button type="button" class="small" data-testid=${`entry-queue-confirm-${meterId}`} onClick=${() => confirmRefused(e.key)}>${t('entry.confirm')}</button>` : null}</div>`;
  })}</div>`;
}

function MeterCard({ m, tz, values, setValue, notes, shownFor }) {
  const zones = zonesOf(m);
  const lastText = (r) => (r?.value == null ? t('common.none') : `${fmtNumber(r.value, 3)} ${unitLabel(r.unit)}`);
  const lastWhen = (r) => (r ? `${fmtDateTime(r.time, tz)} · ${tc('source', r.source)}` : '');
  const unit = m.last_reading?.unit ?? (m.zone_readings ?? []).find((x) => x.unit)?.unit;
  const field = (zone) => {
    const key = fieldKey(m.id, zone);
    const zoneName = zone ? t(`entry.zone.${zone}`) : null;
    return html`<label key=${key} class=${zone ? 'zone' : 'single'}><span class="zone-name">${zoneName ?? t('entry.value')}</span><input inputmode="decimal" autocomplete="off" class="value" data-testid=${`entry-value-${key}`} data-zone=${zone ?? undefined} aria-label=${zone ? `${m.serial_number}, ${zoneName}` : m.serial_number} value=${values[key] ?? ''} onInput=${(e) => setValue(key, e.currentTarget.value)} /><span class="error" data-testid=${`entry-error-${key}`}>${notes[key] ?? ''}</span></label>`;
  };
  const last = zones.length
    ? zones.map((z) => {
      const r = (m.zone_readings ?? []).find((x) => x.zone === z && x.value != null);
      return html`<div key=${z} class="last"><span data-testid=${`entry-last-${fieldKey(m.id, z)}`}>${`${t(`entry.zone.${z}`)}: ${lastText(r)}`}</span>${r ? html`<span class="muted">${` · ${lastWhen(r)}`}</span>` : null}</div>`;
    })
    : html`<div class="last"><span data-testid=${`entry-last-${m.id}`}>${`${t('entry.lastShort')}: ${lastText(m.last_reading)}`}</span>${m.last_reading ? html`<span class="muted">${` · ${lastWhen(m.last_reading)}`}</span>` : null}</div>`;
  return html`<div class="meter-card" data-testid=${`entry-row-${m.id}`} data-meter=${m.id} data-zones=${zones.length ? zones.length : undefined}>
    <div class="meter-head"><strong class="serial" data-testid=${`entry-serial-${m.id}`}>${m.serial_number}</strong><span class="muted">${` · ${tc('resource', m.resource)}${unit ? `, ${unitLabel(unit)}` : ''}`}</span></div>
    ${last}
    ${(zones.length ? zones : [null]).map(field)}
    ${zones.length ? html`<span class="error" data-testid=${`entry-error-${m.id}`}>${notes[fieldKey(m.id)] ?? ''}</span>` : null}
    <${QueueSlot} meterId=${m.id} shownFor=${shownFor} tz=${tz} />
  </div>`;
}

/** The cards of one target: drawn for `shownFor` only, the key every submission is checked against. */
function EntryForm({ id, ov, premises, shownFor, meters, targetRef, selectRef }) {
  const tz = ov.building.timezone;
  const [values, setValues] = useState({});
  const [notes, setNotes] = useState({});
  const [reason, setReason] = useState('');
  const [status, setStatus] = useState(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef(null);
  const mounted = useRef(true);
  useEffect(() => () => { mounted.current = false; }, []);
  const setValue = (key, value) => setValues((v) => ({ ...v, [key]: value }));
  // Where a message may go: every field, and a zone meter's own line for what concerns it as a whole.
  const noteKeys = new Set(meters.flatMap((m) => [fieldKey(m.id), ...zonesOf(m).map((z) => fieldKey(m.id, z))]));
  const premiseName = shownFor === BUILDING ? t('entry.buildingMeters') : `${t('entry.premise')} ${premises.find((p) => String(p.id) === String(shownFor))?.number ?? ''}`;

  const send = async (confirm) => {
    setNotes({});
    setStatus(null);
    // The stale-list guard: these cards must be the picker's flat, or nothing is sent (another flat's meters).
    if (shownFor !== targetRef.current || selectRef.current?.value !== String(shownFor) || formRef.current?.dataset.target !== String(shownFor)) {
      setStatus({ kind: 'stale' });
      return;
    }
    const perMeter = [];
    const local = {};
    for (const m of meters) {
      // One item per register; a zone meter with all its zones or none (web-shared/entry-fields.js).
      const r = meterItems(m, (z) => {
        const v = parseValue(values[fieldKey(m.id, z)]);
        return v === null ? null : Number.isNaN(v) ? { error: t('entry.notANumber') } : { value: v };
      }, t('entry.zoneMissing'));
      for (const [key, err] of r.errors) local[key] = err;
      if (r.items.length) perMeter.push({ m, items: r.items });
    }
    if (Object.keys(local).length) { setNotes(local); setStatus({ kind: 'refused' }); return; }
    if (!perMeter.length) { setStatus({ kind: 'nothing' }); return; }
    const readings = perMeter.flatMap((x) => x.items);
    const path = shownFor === BUILDING ? `/buildings/${id}/readings` : `/premises/${shownFor}/readings`;
    const why = reason.trim();
    const entries = () => {
      const takenAt = new Date().toISOString();
      return perMeter.map(({ m, items }) => ({ building: id, target: shownFor, path, meter_id: m.id, items, taken_at: takenAt, ...(why ? { reason: why } : {}) }));
    };
    // Without signal, or behind entries still waiting (their order is kept): into the queue, one entry per meter.
    const queue = () => {
      enqueue(entries());
      setValues({});
      setStatus({ kind: 'queued' });
      flushQueue();
    };
    if (window.navigator.onLine === false || pendingCount()) { queue(); return; }
    setBusy(true);
    try {
      const res = await api(path, { method: 'POST', body: { readings, confirm, ...(why ? { reason: why } : {}) } });
      forgetRefused(perMeter.map((x) => x.m.id));
      if (!mounted.current) return; // another flat was picked meanwhile: its cards are not these
      setStatus({ kind: 'saved', readings: res.readings });
      setValues({});
    } catch (e) {
      // No answer at all (a basement, a dropped connection): nothing lost, the entries wait in the queue.
      // If the server did store them and only the answer was lost, the re-send is answered as unchanged.
      if (!(e instanceof ApiError)) { if (mounted.current) queue(); else enqueue(entries()); return; }
      if (!mounted.current) return;
      const per = detailsByField(e.body?.details, readings);
      const placed = {};
      for (const [key, messages] of per) {
        const at = noteKeys.has(key) ? key : key.split('-')[0];
        if (noteKeys.has(at)) placed[at] = [placed[at], messages.join('; ')].filter(Boolean).join('; ');
      }
      setNotes(placed);
      // High consumption or a rollover: the inspector looks again and confirms what the meter shows.
      if (e.status === 409) setStatus({ kind: 'confirm' });
      else setStatus({ kind: 'error', text: per.size ? t('entry.refused') : refusalText(e.body?.details?.find((d) => d.code) ?? (e.body?.code ? e.body : e.message)) });
    } finally {
      if (mounted.current) setBusy(false);
    }
  };

  return html`<form class="entry" data-testid="entry-form" data-target=${shownFor} ref=${formRef} onSubmit=${(e) => { e.preventDefault(); send(false); }}>
      <p class="entry-target" data-testid="entry-target"><strong>${premiseName}</strong>${` · ${ov.building.address}`}</p>
      <div class="meter-cards" data-testid="entry-table">
        ${meters.map((m) => html`<${MeterCard} key=${m.id} m=${m} tz=${tz} values=${values} setValue=${setValue} notes=${notes} shownFor=${shownFor} />`)}
      </div>
      <label>${t('entry.reason')}<input name="reason" maxlength="500" data-testid="entry-reason" placeholder=${t('entry.reasonHint')} value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} /></label>
      <button type="submit" class="primary" data-testid="entry-submit" disabled=${busy}>${t('entry.submit')}</button>
    </form>
    <div role="status" data-testid="entry-status"><${EntryStatus} status=${status} meters=${meters} tz=${tz} onConfirm=${() => send(true)} /></div>`;
}

function EntryStatus({ status, meters, tz, onConfirm }) {
  if (!status) return null;
  switch (status.kind) {
    case 'stale': return html`<p class="error" role="alert" data-testid="entry-error">${t('entry.stale')}</p>`;
    case 'refused': return html`<p class="error" role="alert" data-testid="entry-error">${t('entry.refused')}</p>`;
    case 'error': return html`<p class="error" role="alert" data-testid="entry-error">${status.text}</p>`;
    case 'nothing': return html`<p class="error">${t('entry.nothing')}</p>`;
    case 'queued': return html`<p class="warn" role="status" data-testid="entry-queued">${t('entry.queuedSaved')}</p>`;
    case 'confirm': return html`<div class="card warn" data-testid="entry-warning"><p>${t('entry.confirmText')}</p><button type="button" class="primary" data-testid="entry-confirm" onClick=${onConfirm}>${t('entry.confirm')}</button></div>`;
    case 'saved': return html`<div class="card ok"><p>${t('entry.saved')}</p><ul>${status.readings.map((r) => html`<li key=${fieldKey(r.meter_id, r.zone)} data-testid=${`entry-saved-${fieldKey(r.meter_id, r.zone)}`}>${`${meters.find((m) => m.id === r.meter_id)?.serial_number ?? ''}${r.zone ? ` ${t(`entry.zone.${r.zone}`)}` : ''}: ${fmtNumber(r.value, 3)}`}${r.consumption == null ? '' : ` (${t('entry.consumption')} ${fmtNumber(r.consumption, 3)})`}${` · v${r.version} · ${fmtDateTime(r.received_at, tz)}`}</li>`)}</ul></div>`;
    default: return null;
  }
}

export const entryScreen = {
  id: 'entry',
  // The entry's words ('entry.*') are in dashboard/i18n.js: the building screen's "Enter readings" link shares them.
  messages: { ru: {}, en: {} },
  routes: [{ path: '/buildings/:id/entry', component: EntryScreen }],
  nav: [],
};
