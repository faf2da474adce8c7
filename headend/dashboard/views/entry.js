/**
 * #/buildings/:id/entry — staff enter readings by hand: the ИПУ of one premise, several at once, or the
 * building's own meters (ОДПУ and common-area). The meter inspector walks the stairwell with a phone,
 * so the premise is picked by typing its number and every meter of it is one input.
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

/** "12,5" (a Russian keyboard) or "12.5" → 12.5; empty → null; anything else → NaN. */
export function parseValue(text) {
  const s = String(text ?? '').trim().replace(/\s/g, '').replace(',', '.');
  if (!s) return null;
  return /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN;
}

/** Error details of the API ("readings.N") → the meter of the N-th submitted row. */
export function detailsByMeter(details, submitted) {
  const out = new Map();
  for (const d of details ?? []) {
    const m = /^readings\.(\d+)/.exec(d.path ?? '');
    const meterId = m ? submitted[Number(m[1])]?.meter_id : undefined;
    if (meterId !== undefined) out.set(meterId, [...(out.get(meterId) ?? []), d.message]);
  }
  return out;
}

export async function renderEntry(id, ctx) {
  const ov = await api(`/buildings/${id}/overview`);
  const premises = await api(`/premises?${qs({ building_id: id, limit: 5000 })}`);
  const tz = ov.building.timezone;
  let target = ctx.query.get('premise') ?? '';

  const status = h('div', { role: 'status', 'data-testid': 'entry-status' });
  const body = h('div', {});
  const search = h('input', { type: 'search', inputmode: 'numeric', placeholder: t('entry.premiseSearch'), 'data-testid': 'premise-search', value: target === BUILDING ? '' : (premises.find((p) => String(p.id) === target)?.number ?? '') });
  const select = h('select', { 'data-testid': 'premise-select' });

  const fillSelect = () => {
    const matches = matchPremises(premises, search.value);
    select.replaceChildren(
      h('option', { value: '' }, t('entry.pick')),
      h('option', { value: BUILDING, selected: target === BUILDING }, t('entry.buildingMeters')),
      matches.map((p) => h('option', { value: p.id, selected: String(p.id) === target }, `${t('entry.premise')} ${p.number}`)));
    // Typing a number that matches exactly one premise selects it: no second tap on a phone.
    if (matches.length === 1 && String(matches[0].number) === search.value.trim() && String(matches[0].id) !== target) {
      target = String(matches[0].id);
      select.value = target;
      draw();
    }
  };
  search.addEventListener('input', fillSelect);
  select.addEventListener('change', () => { target = select.value; draw(); });

  function draw() {
    status.replaceChildren();
    const meters = target ? metersOf(ov.meters, target) : [];
    if (!target) { body.replaceChildren(h('p', { class: 'muted' }, t('entry.pickFirst'))); return; }
    if (!meters.length) { body.replaceChildren(h('p', { class: 'muted', 'data-testid': 'entry-no-meters' }, t('entry.noMeters'))); return; }
    const inputs = new Map();
    const notes = new Map();
    const rows = meters.map((m) => {
      const input = h('input', { inputmode: 'decimal', autocomplete: 'off', class: 'value', 'data-testid': `entry-value-${m.id}`, 'aria-label': m.serial_number });
      const note = h('span', { class: 'error', 'data-testid': `entry-error-${m.id}` });
      inputs.set(m.id, input);
      notes.set(m.id, note);
      return h('tr', { 'data-testid': `entry-row-${m.id}` },
        h('td', {}, m.serial_number),
        h('td', {}, tc('resource', m.resource)),
        h('td', { class: 'num' }, m.last_reading?.value == null ? t('common.none') : `${fmtNumber(m.last_reading.value, 3)} ${m.last_reading.unit}`),
        h('td', {}, m.last_reading ? `${fmtDateTime(m.last_reading.time, tz)} · ${tc('source', m.last_reading.source)}` : t('common.none')),
        h('td', {}, input, note));
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
      for (const m of meters) {
        const v = parseValue(inputs.get(m.id).value);
        if (v === null) continue;
        if (Number.isNaN(v)) { notes.get(m.id).textContent = t('entry.notANumber'); return; }
        readings.push({ meter_id: m.id, value: v });
      }
      if (!readings.length) { status.replaceChildren(h('p', { class: 'error' }, t('entry.nothing'))); return; }
      const path = target === BUILDING ? `/buildings/${id}/readings` : `/premises/${target}/readings`;
      submitBtn.disabled = true;
      try {
        const res = await api(path, { method: 'POST', body: { readings, confirm, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) } });
        const saved = res.readings.map((r) => h('li', { 'data-testid': `entry-saved-${r.meter_id}` },
          `${meters.find((m) => m.id === r.meter_id)?.serial_number ?? r.meter_id}: ${fmtNumber(r.value, 3)}`,
          r.consumption == null ? '' : ` (${t('entry.consumption')} ${fmtNumber(r.consumption, 3)})`,
          ` · v${r.version} · ${fmtDateTime(r.received_at, tz)}`));
        status.replaceChildren(h('div', { class: 'card ok' }, h('p', {}, t('entry.saved')), h('ul', {}, saved)));
        for (const i of inputs.values()) i.value = '';
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        const per = detailsByMeter(e.body?.details, readings);
        for (const [meterId, messages] of per) notes.get(meterId).textContent = messages.join('; ');
        if (e.status === 409) {
          // High consumption: the inspector looks again and confirms what the meter shows.
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
