/**
 * #/buildings/:id/entry — staff enter readings by hand: the ИПУ of one premise, several at once, or the
 * building's own meters (ОДПУ and common-area). The meter inspector walks the stairwell with a phone,
 * so the premise is picked by typing its number and every meter of it is one input — a multi-zone
 * electricity meter one input per zone (day, night, peak), sent as one item per zone.
 *
 * The picker selects the premise whose number EQUALS what was typed (1 among 10–19 included) or the
 * one chosen from the list of prefix matches; the table always shows the selected target's meters,
 * and an answer that comes back after the target changed is dropped, never shown on another flat.
 *
 * The head-end applies the same rules as for residents (src/collection): the batch is all or nothing,
 * a refusal names each meter (400 details "readings.N"), and consumption far above the meter's
 * average answers 409 until the inspector confirms what they saw. Entry outside the collection
 * window is allowed only to roles with that privilege; the API decides, the page shows its answer.
 */
import { api, ApiError, qs } from '../api.js';
import { addMessages, has, locale, t, tc } from '../i18n.js';
import { detailText, ERROR_TEXTS } from '../../web-shared/errors.js';
import { h } from '../../web-shared/dom.js';
import { fmtDateTime, fmtNumber } from '../format.js';
import { confirmRefused, enqueue, flushQueue, forgetRefused, isMine, loadQueue, othersPending, pendingCount, QUEUE_EVENT, startQueue } from '../entry-queue.js';
// The fields of entry are the residents' page's too: one shared piece.
import { fieldKey, messagesByField, messagesByMeter, meterItems, zonesOf } from '../../web-shared/entry-fields.js';

export { fieldKey, zonesOf };

const BUILDING = 'building';

/** Which meters an entry target holds: a premise's apartment meters, or the building's own. */
export function metersOf(meters, target) {
  return meters.filter((m) => m.status === 'active' && (target === BUILDING ? m.premise_id == null : String(m.premise_id) === String(target)));
}

/** Premises whose number starts with (or equals) what was typed, in natural order (2 before 10). */
export function matchPremises(premises, typed) {
  const q = String(typed ?? '').trim().toLowerCase();
  return premises
    .filter((p) => !q || String(p.number).toLowerCase().startsWith(q))
    .sort((a, b) => String(a.number).localeCompare(String(b.number), undefined, { numeric: true }));
}

/**
 * The premise whose number is exactly what was typed (spaces and case aside), else undefined: "1"
 * is flat 1 even with flats 10–19 in the building, and "1" never means flat 10.
 */
export function exactPremise(premises, typed) {
  const q = String(typed ?? '').trim().toLowerCase();
  return q ? premises.find((p) => String(p.number).trim().toLowerCase() === q) : undefined;
}

/** "12,5" (a Russian keyboard) or "12.5" → 12.5; empty → null; anything else → NaN. */
export function parseValue(text) {
  const s = String(text ?? '').trim().replace(/\s/g, '').replace(',', '.');
  if (!s) return null;
  return /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN;
}

addMessages(ERROR_TEXTS);

/**
 * The server's refusals and warnings in the user's language: a detail with its code and params from the
 * one catalogue (web-shared/errors.js). An answer without codes (an older server's, kept in the offline
 * queue) is English naming the meter: each known wording → its code and numbers, an unknown one as the
 * server said it, without its "meter N:" prefix.
 */
const num = (x) => fmtNumber(Number(x), 3);
const REFUSALS = [
  [/is less than the previous reading ([\d.]+)/, 'below_previous', (m) => ({ previous: num(m[1]) })],
  [/is more than the next reading ([\d.]+)/, 'above_next', (m) => ({ next: num(m[1]) })],
  [/is below the previous reading ([\d.]+); read as the \d+-digit register rolling over zero, consumption ([\d.]+)/, 'rollover', (m) => ({ previous: num(m[1]), consumption: num(m[2]) })],
  [/consumption ([\d.]+) is more than ([\d.]+)× the average of the last 3 months \(([\d.]+) a month\)/, 'high', (m) => ({ consumption: num(m[1]), factor: num(m[2]), average: num(m[3]) })],
  [/first reading ([\d.]+) is more than this premise could have used/, 'first_too_high', (m) => ({ value: num(m[1]) })],
  [/the collection window is closed/, 'window_closed'],
  [/outside the current collection window/, 'outside_window'],
  [/verification expired on (\S+?);/, 'verification_expired', (m) => ({ date: m[1] })],
  [/only whole numbers are accepted/, 'not_integer'],
  [/does not fit the register's (\d+) digits/, 'too_many_digits', (m) => ({ digits: m[1] })],
  [/already taken by the managing organisation \(([\d.]+)\)/, 'taken_by_staff', (m) => ({ value: num(m[1]) })],
  [/collection of readings for this resource is disabled/, 'disabled'],
  [/you may not write|needs the permission/, 'forbidden'],
  [/^meter \d+ not found/, 'not_found'],
  [/a reading is a non-negative number/, 'negative'],
];
export function refusalText(detail) {
  if (detail && typeof detail === 'object') {
    const coded = detailText(detail, { t, has, locale });
    if (coded !== null) return coded;
  }
  const text = String((detail && typeof detail === 'object' ? detail.message : detail) ?? '');
  for (const [re, code, params] of REFUSALS) {
    const m = re.exec(text);
    if (m) return t(`refusal.${code}`, params ? params(m) : undefined);
  }
  return text.replace(/^meter \d+:\s*/, '');
}

/** Error details of the API ("readings.N") → the field (meter and zone) of the N-th submitted item, in the user's words. */
export const detailsByField = (details, submitted) => messagesByField(details, submitted, refusalText);

/** The same per meter (zones merged). */
export const detailsByMeter = (details, submitted) => messagesByMeter(details, submitted, refusalText);

/** "m3" → "м³" in Russian; a unit without a label as it is. */
export const unitLabel = (unit) => (unit ? tc('unit', unit) : '');

export async function renderEntry(id, ctx) {
  // Two calls for the whole page (a phone in a stairwell): the overview's meters carry `zones` and each
  // zone's last reading, so a zone meter gets one input per zone and its last values without more calls.
  const [ov, premises] = await Promise.all([
    api(`/buildings/${id}/overview`),
    api(`/premises?${qs({ building_id: id, limit: 5000 })}`),
  ]);
  startQueue();
  const allMeters = ov.meters;
  const tz = ov.building.timezone;
  let target = ctx.query.get('premise') ?? '';
  if (target !== BUILDING && !premises.some((p) => String(p.id) === target)) target = '';

  const status = h('div', { role: 'status', 'data-testid': 'entry-status' });
  const body = h('div', {});
  const counter = h('span', { class: 'queue-count', 'data-testid': 'entry-queue-count' });
  const search = h('input', { type: 'search', inputmode: 'numeric', placeholder: t('entry.premiseSearch'), 'data-testid': 'premise-search', value: target === BUILDING ? '' : (premises.find((p) => String(p.id) === target)?.number ?? '') });
  const select = h('select', { 'data-testid': 'premise-select' });
  const premiseName = (tg) => (tg === BUILDING ? t('entry.buildingMeters') : `${t('entry.premise')} ${premises.find((p) => String(p.id) === String(tg))?.number ?? ''}`);

  /** The list: the building's meters and the premises matching what was typed (the exact number first); the selection is the target. */
  const fillSelect = () => {
    select.replaceChildren(
      h('option', { value: '' }, t('entry.pick')),
      h('option', { value: BUILDING }, t('entry.buildingMeters')),
      ...matchPremises(premises, search.value).map((p) => h('option', { value: p.id }, `${t('entry.premise')} ${p.number}`)));
    select.value = target;
  };
  const setTarget = (next) => {
    if (next === target) return;
    target = next;
    draw();
  };
  // Typing decides: the premise whose number equals what was typed, else none until one is chosen from the list.
  search.addEventListener('input', () => {
    setTarget(String(exactPremise(premises, search.value)?.id ?? ''));
    fillSelect();
  });
  select.addEventListener('change', () => {
    const chosen = premises.find((p) => String(p.id) === select.value);
    if (chosen) search.value = chosen.number; // the box says which flat the cards are
    setTarget(select.value);
    fillSelect();
  });

  /** Paints the queue's state on the cards shown and the counter; set by draw() for its cards. */
  let paintCards = () => {};
  const paintQueue = () => {
    const n = pendingCount();
    const others = othersPending();
    counter.textContent = [n ? t('entry.queueCount', { n }) : '', others ? t('entry.queueOthers', { n: others }) : ''].filter(Boolean).join(' · ');
    counter.dataset.count = String(n);
    counter.dataset.others = String(others);
    paintCards(loadQueue().filter(isMine));
  };
  const onQueue = () => {
    if (!node.isConnected) { window.removeEventListener(QUEUE_EVENT, onQueue); return; } // the page was left
    paintQueue();
  };
  window.addEventListener(QUEUE_EVENT, onQueue);

  function draw() {
    // The cards drawn now belong to this target only: the key every submission is checked against.
    const shownFor = target;
    status.replaceChildren();
    paintCards = () => {};
    const meters = shownFor ? metersOf(allMeters, shownFor) : [];
    if (!shownFor) { body.replaceChildren(h('p', { class: 'muted', 'data-testid': 'entry-pick-first' }, t('entry.pickFirst'))); paintQueue(); return; }
    if (!meters.length) { body.replaceChildren(h('p', { class: 'muted', 'data-testid': 'entry-no-meters' }, t('entry.noMeters'))); paintQueue(); return; }
    const inputs = new Map();
    const notes = new Map();
    const queueSlots = new Map();
    const lastText = (r) => (r?.value == null ? t('common.none') : `${fmtNumber(r.value, 3)} ${unitLabel(r.unit)}`);
    const lastWhen = (r) => (r ? `${fmtDateTime(r.time, tz)} · ${tc('source', r.source)}` : '');
    const cards = meters.map((m) => {
      const zones = zonesOf(m);
      const field = (zone) => {
        const key = fieldKey(m.id, zone);
        const zoneName = zone ? t(`entry.zone.${zone}`) : null;
        const input = h('input', { inputmode: 'decimal', autocomplete: 'off', class: 'value', 'data-testid': `entry-value-${key}`, 'data-zone': zone, 'aria-label': zone ? `${m.serial_number}, ${zoneName}` : m.serial_number });
        const note = h('span', { class: 'error', 'data-testid': `entry-error-${key}` });
        inputs.set(key, input);
        notes.set(key, note);
        return h('label', { class: zone ? 'zone' : 'single' }, h('span', { class: 'zone-name' }, zoneName ?? t('entry.value')), input, note);
      };
      const last = zones.length
        ? zones.map((z) => {
          const r = (m.zone_readings ?? []).find((x) => x.zone === z && x.value != null);
          return h('div', { class: 'last' },
            h('span', { 'data-testid': `entry-last-${fieldKey(m.id, z)}` }, `${t(`entry.zone.${z}`)}: ${lastText(r)}`),
            r ? h('span', { class: 'muted' }, ` · ${lastWhen(r)}`) : null);
        })
        : h('div', { class: 'last' }, h('span', { 'data-testid': `entry-last-${m.id}` }, `${t('entry.lastShort')}: ${lastText(m.last_reading)}`),
          m.last_reading ? h('span', { class: 'muted' }, ` · ${lastWhen(m.last_reading)}`) : null);
      // A zone meter: what the API says of the meter as a whole goes under all its zones.
      const meterNote = zones.length ? h('span', { class: 'error', 'data-testid': `entry-error-${m.id}` }) : null;
      if (meterNote) notes.set(fieldKey(m.id), meterNote);
      const slot = h('div', { class: 'queue-slot', 'data-testid': `entry-queue-${m.id}` });
      queueSlots.set(m.id, slot);
      const unit = m.last_reading?.unit ?? (m.zone_readings ?? []).find((x) => x.unit)?.unit;
      return h('div', { class: 'meter-card', 'data-testid': `entry-row-${m.id}`, 'data-meter': m.id, ...(zones.length ? { 'data-zones': zones.length } : {}) },
        h('div', { class: 'meter-head' },
          h('strong', { class: 'serial', 'data-testid': `entry-serial-${m.id}` }, m.serial_number),
          h('span', { class: 'muted' }, ` · ${tc('resource', m.resource)}${unit ? `, ${unitLabel(unit)}` : ''}`)),
        last,
        (zones.length ? zones : [null]).map(field),
        meterNote,
        slot);
    });
    // What waits in the queue for these meters, and what came back refused, on each meter's card.
    paintCards = (queue) => {
      for (const [meterId, slot] of queueSlots) {
        const mine = queue.filter((e) => e.meter_id === meterId && String(e.target) === String(shownFor));
        slot.replaceChildren(...mine.map((e) => {
          const value = e.items.map((i) => `${i.zone ? `${t(`entry.zone.${i.zone}`)} ` : ''}${fmtNumber(i.value, 3)}`).join(', ');
          const time = fmtDateTime(e.taken_at, tz);
          if (e.state === 'queued') return h('div', { class: 'badge queued', 'data-testid': `entry-queued-${meterId}` }, t('entry.queuedAt', { value, time }));
          const lines = [...detailsByField(e.error?.details, e.items).values()].flat();
          return h('div', { class: 'error', 'data-testid': `entry-queue-refused-${meterId}` },
            t('entry.queueRefused', { value, time }), ' ', (lines.length ? lines : [refusalText(e.error?.message)]).join('; '),
            // Asked to confirm (far above the average, a rollover): the inspector looks at the meter again and confirms here.
            e.error?.status === 409 ? h('button', { type: 'button', class: 'small', 'data-testid': `entry-queue-confirm-${meterId}`, onclick: () => confirmRefused(e.key) }, t('entry.confirm')) : null);
        }));
      }
    };
    const reason = h('input', { name: 'reason', maxlength: 500, 'data-testid': 'entry-reason', placeholder: t('entry.reasonHint') });
    const submitBtn = h('button', { type: 'submit', class: 'primary', 'data-testid': 'entry-submit' }, t('entry.submit'));
    const form = h('form', { class: 'entry', 'data-testid': 'entry-form', 'data-target': shownFor },
      h('p', { class: 'entry-target', 'data-testid': 'entry-target' }, h('strong', {}, premiseName(shownFor)), ` · ${ov.building.address}`),
      h('div', { class: 'meter-cards', 'data-testid': 'entry-table' }, cards),
      h('label', {}, t('entry.reason'), reason),
      submitBtn);

    const clearInputs = () => { for (const i of inputs.values()) i.value = ''; };
    const send = async (confirm) => {
      for (const n of notes.values()) n.textContent = '';
      status.replaceChildren();
      // The stale-list guard: these cards must be the picker's flat, or nothing is sent (another flat's meters).
      if (shownFor !== target || select.value !== String(shownFor) || form.dataset.target !== String(shownFor)) {
        status.replaceChildren(h('p', { class: 'error', role: 'alert', 'data-testid': 'entry-error' }, t('entry.stale')));
        return;
      }
      const perMeter = [];
      let bad = false;
      for (const m of meters) {
        // One item per register; a zone meter with all its zones or none (web-shared/entry-fields.js).
        const r = meterItems(m, (z) => {
          const v = parseValue(inputs.get(fieldKey(m.id, z)).value);
          return v === null ? null : Number.isNaN(v) ? { error: t('entry.notANumber') } : { value: v };
        }, t('entry.zoneMissing'));
        for (const [key, err] of r.errors) notes.get(key).textContent = err;
        if (r.errors.length) bad = true;
        if (r.items.length) perMeter.push({ m, items: r.items });
      }
      if (bad) { status.replaceChildren(h('p', { class: 'error', role: 'alert', 'data-testid': 'entry-error' }, t('entry.refused'))); return; }
      if (!perMeter.length) { status.replaceChildren(h('p', { class: 'error' }, t('entry.nothing'))); return; }
      const readings = perMeter.flatMap((x) => x.items);
      const path = shownFor === BUILDING ? `/buildings/${id}/readings` : `/premises/${shownFor}/readings`;
      const why = reason.value.trim();
      const entries = () => {
        const takenAt = new Date().toISOString();
        return perMeter.map(({ m, items }) => ({ building: id, target: shownFor, path, meter_id: m.id, items, taken_at: takenAt, ...(why ? { reason: why } : {}) }));
      };
      // Without signal, or behind entries still waiting (their order is kept): into the queue, one entry per meter.
      const queue = () => {
        enqueue(entries());
        clearInputs();
        status.replaceChildren(h('p', { class: 'warn', role: 'status', 'data-testid': 'entry-queued' }, t('entry.queuedSaved')));
        flushQueue();
      };
      if (window.navigator.onLine === false || pendingCount()) { queue(); return; }
      submitBtn.disabled = true;
      try {
        const res = await api(path, { method: 'POST', body: { readings, confirm, ...(why ? { reason: why } : {}) } });
        forgetRefused(perMeter.map((x) => x.m.id));
        if (!form.isConnected) return; // another flat was picked meanwhile: its cards are not these
        const saved = res.readings.map((r) => h('li', { 'data-testid': `entry-saved-${fieldKey(r.meter_id, r.zone)}` },
          `${meters.find((m) => m.id === r.meter_id)?.serial_number ?? ''}${r.zone ? ` ${t(`entry.zone.${r.zone}`)}` : ''}: ${fmtNumber(r.value, 3)}`,
          r.consumption == null ? '' : ` (${t('entry.consumption')} ${fmtNumber(r.consumption, 3)})`,
          ` · v${r.version} · ${fmtDateTime(r.received_at, tz)}`));
        status.replaceChildren(h('div', { class: 'card ok' }, h('p', {}, t('entry.saved')), h('ul', {}, saved)));
        clearInputs();
      } catch (e) {
        // No answer at all (a basement, a dropped connection): nothing lost, the entries wait in the queue.
        // If the server did store them and only the answer was lost, the re-send is answered as unchanged.
        if (!(e instanceof ApiError)) { if (form.isConnected) queue(); else enqueue(entries()); return; }
        if (!form.isConnected) return;
        const per = detailsByField(e.body?.details, readings);
        for (const [key, messages] of per) {
          const note = notes.get(key) ?? notes.get(key.split('-')[0]);
          if (note) note.textContent = messages.join('; ');
        }
        if (e.status === 409) {
          // High consumption or a rollover: the inspector looks again and confirms what the meter shows.
          const confirmBtn = h('button', { type: 'button', class: 'primary', 'data-testid': 'entry-confirm', onclick: () => send(true) }, t('entry.confirm'));
          status.replaceChildren(h('div', { class: 'card warn', 'data-testid': 'entry-warning' }, h('p', {}, t('entry.confirmText')), confirmBtn));
        } else {
          status.replaceChildren(h('p', { class: 'error', role: 'alert', 'data-testid': 'entry-error' }, per.size ? t('entry.refused') : refusalText(e.body?.details?.find((d) => d.code) ?? (e.body?.code ? e.body : e.message))));
        }
      } finally {
        submitBtn.disabled = false;
      }
    };
    form.addEventListener('submit', (e) => { e.preventDefault(); send(false); });
    body.replaceChildren(form);
    paintQueue();
  }

  const node = h('div', { class: 'page entry-page' },
    h('p', {}, h('a', { href: `#/buildings/${id}` }, t('common.back'))),
    h('h1', {}, t('entry.title'), ' ', counter),
    h('p', { class: 'entry-building', 'data-testid': 'entry-building' }, ov.building.address),
    h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
      h('label', {}, t('entry.premise'), search), h('label', {}, t('entry.target'), select)),
    body,
    status);
  fillSelect();
  draw();
  return { node };
}
