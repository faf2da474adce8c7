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
import { t, tc } from '../i18n.js';
import { h, table } from '../dom.js';
import { fmtDateTime, fmtNumber } from '../format.js';
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

/** Error details of the API ("readings.N") → the field (meter and zone) of the N-th submitted item. */
export const detailsByField = (details, submitted) => messagesByField(details, submitted);

/** The same per meter (zones merged). */
export const detailsByMeter = (details, submitted) => messagesByMeter(details, submitted);

export async function renderEntry(id, ctx) {
  // Two calls for the whole page (a phone in a stairwell): the overview's meters carry `zones` and each
  // zone's last reading, so a zone meter gets one input per zone and its last values without more calls.
  const [ov, premises] = await Promise.all([
    api(`/buildings/${id}/overview`),
    api(`/premises?${qs({ building_id: id, limit: 5000 })}`),
  ]);
  const allMeters = ov.meters;
  const tz = ov.building.timezone;
  let target = ctx.query.get('premise') ?? '';
  if (target !== BUILDING && !premises.some((p) => String(p.id) === target)) target = '';
  /** Bumped by every draw: answers for an older table (another flat) are dropped. */
  let drawn = 0;

  const status = h('div', { role: 'status', 'data-testid': 'entry-status' });
  const body = h('div', {});
  const search = h('input', { type: 'search', inputmode: 'numeric', placeholder: t('entry.premiseSearch'), 'data-testid': 'premise-search', value: target === BUILDING ? '' : (premises.find((p) => String(p.id) === target)?.number ?? '') });
  const select = h('select', { 'data-testid': 'premise-select' });

  /** The list: the building's meters and the premises matching what was typed; the selection is the target. */
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
    if (chosen) search.value = chosen.number; // the box says which flat the table is
    setTarget(select.value);
    fillSelect();
  });

  function draw() {
    const mine = ++drawn;
    const current = () => mine === drawn;
    status.replaceChildren();
    const meters = target ? metersOf(allMeters, target) : [];
    if (!target) { body.replaceChildren(h('p', { class: 'muted', 'data-testid': 'entry-pick-first' }, t('entry.pickFirst'))); return; }
    if (!meters.length) { body.replaceChildren(h('p', { class: 'muted', 'data-testid': 'entry-no-meters' }, t('entry.noMeters'))); return; }
    const inputs = new Map();
    const notes = new Map();
    const rows = meters.map((m) => {
      const zones = zonesOf(m);
      const field = (zone) => {
        const key = fieldKey(m.id, zone);
        const zoneName = zone ? t(`entry.zone.${zone}`) : null;
        const input = h('input', { inputmode: 'decimal', autocomplete: 'off', class: 'value', 'data-testid': `entry-value-${key}`, 'data-zone': zone, 'aria-label': zone ? `${m.serial_number}, ${zoneName}` : m.serial_number });
        const note = h('span', { class: 'error', 'data-testid': `entry-error-${key}` });
        inputs.set(key, input);
        notes.set(key, note);
        return zone ? h('label', { class: 'zone' }, h('span', { class: 'zone-name' }, zoneName), input, note) : [input, note];
      };
      if (!zones.length) {
        return h('tr', { 'data-testid': `entry-row-${m.id}` },
          h('td', {}, m.serial_number),
          h('td', {}, tc('resource', m.resource)),
          h('td', { class: 'num' }, m.last_reading?.value == null ? t('common.none') : `${fmtNumber(m.last_reading.value, 3)} ${m.last_reading.unit}`),
          h('td', {}, m.last_reading ? `${fmtDateTime(m.last_reading.time, tz)} · ${tc('source', m.last_reading.source)}` : t('common.none')),
          h('td', {}, field(null)));
      }
      // A zone meter: each zone's last value and when/where from, one input per zone, and a note for
      // what the API says of the meter as a whole.
      const lastCells = zones.map((z) => {
        const r = (m.zone_readings ?? []).find((x) => x.zone === z && x.value != null);
        return [
          h('span', { class: 'zone-line', 'data-testid': `entry-last-${fieldKey(m.id, z)}` }, `${t(`entry.zone.${z}`)}: ${r ? `${fmtNumber(r.value, 3)} ${r.unit}` : t('common.none')}`),
          h('span', { class: 'zone-line' }, r ? `${fmtDateTime(r.time, tz)} · ${tc('source', r.source)}` : t('common.none')),
        ];
      });
      const meterNote = h('span', { class: 'error', 'data-testid': `entry-error-${m.id}` });
      notes.set(fieldKey(m.id), meterNote);
      return h('tr', { 'data-testid': `entry-row-${m.id}`, 'data-zones': zones.length },
        h('td', {}, m.serial_number),
        h('td', {}, tc('resource', m.resource)),
        h('td', { class: 'num' }, lastCells.map(([v]) => v)),
        h('td', {}, lastCells.map(([, w]) => w)),
        h('td', {}, zones.map(field), meterNote));
    });
    const reason = h('input', { name: 'reason', maxlength: 500, 'data-testid': 'entry-reason', placeholder: t('entry.reasonHint') });
    const submitBtn = h('button', { type: 'submit', class: 'primary', 'data-testid': 'entry-submit' }, t('entry.submit'));
    const form = h('form', { class: 'entry', 'data-testid': 'entry-form' },
      table([t('entry.serial'), t('common.resource'), t('entry.last'), t('entry.lastWhen'), t('entry.value')], rows, { class: 'data compact', 'data-testid': 'entry-table' }),
      h('label', {}, t('entry.reason'), reason),
      submitBtn);

    const send = async (confirm) => {
      for (const n of notes.values()) n.textContent = '';
      status.replaceChildren();
      const readings = [];
      let bad = false;
      for (const m of meters) {
        // One item per register; a zone meter with all its zones or none (web-shared/entry-fields.js).
        const r = meterItems(m, (z) => {
          const v = parseValue(inputs.get(fieldKey(m.id, z)).value);
          return v === null ? null : Number.isNaN(v) ? { error: t('entry.notANumber') } : { value: v };
        }, t('entry.zoneMissing'));
        for (const [key, err] of r.errors) notes.get(key).textContent = err;
        if (r.errors.length) bad = true;
        readings.push(...r.items);
      }
      if (bad) { status.replaceChildren(h('p', { class: 'error', role: 'alert', 'data-testid': 'entry-error' }, t('entry.refused'))); return; }
      if (!readings.length) { status.replaceChildren(h('p', { class: 'error' }, t('entry.nothing'))); return; }
      const path = target === BUILDING ? `/buildings/${id}/readings` : `/premises/${target}/readings`;
      submitBtn.disabled = true;
      try {
        const res = await api(path, { method: 'POST', body: { readings, confirm, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) } });
        if (!current()) return;
        const saved = res.readings.map((r) => h('li', { 'data-testid': `entry-saved-${fieldKey(r.meter_id, r.zone)}` },
          `${meters.find((m) => m.id === r.meter_id)?.serial_number ?? r.meter_id}${r.zone ? ` ${t(`entry.zone.${r.zone}`)}` : ''}: ${fmtNumber(r.value, 3)}`,
          r.consumption == null ? '' : ` (${t('entry.consumption')} ${fmtNumber(r.consumption, 3)})`,
          ` · v${r.version} · ${fmtDateTime(r.received_at, tz)}`));
        status.replaceChildren(h('div', { class: 'card ok' }, h('p', {}, t('entry.saved')), h('ul', {}, saved)));
        for (const i of inputs.values()) i.value = '';
      } catch (e) {
        if (!current()) return;
        if (!(e instanceof ApiError)) {
          // No answer at all (a basement without signal): nothing was saved, the typed values stay for another try.
          status.replaceChildren(h('p', { class: 'error', role: 'alert', 'data-testid': 'entry-error' }, `${t('entry.offline')} (${e.message})`));
          return;
        }
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
          status.replaceChildren(h('p', { class: 'error', role: 'alert', 'data-testid': 'entry-error' }, per.size ? t('entry.refused') : e.message));
        }
      } finally {
        submitBtn.disabled = false;
      }
    };
    form.addEventListener('submit', (e) => { e.preventDefault(); send(false); });
    body.replaceChildren(form);
  }

  fillSelect();
  draw();
  const node = h('div', { class: 'page' },
    h('p', {}, h('a', { href: `#/buildings/${id}` }, t('common.back'))),
    h('h1', {}, t('entry.title'), h('span', { class: 'muted' }, ` · ${ov.building.address}`)),
    h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
      h('label', {}, t('entry.premise'), search), h('label', {}, t('entry.target'), select)),
    body,
    status);
  return { node };
}
