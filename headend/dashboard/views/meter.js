/**
 * #/meters/:id — a meter's register readings with their verdicts, and the engineer's actions:
 * accept or reject a reading (with a reason), or correct it (a new version with value and reason).
 * Readings, verdicts and reviews come from GET /meters/:id/overview (the tables themselves), so every
 * earlier edit shows who, when and why. Accept/reject go to POST /meters/:id/readings/review (the
 * validation routes); if that route is not there yet the page says so and nothing else breaks.
 */
import { api, ApiError } from '../api.js';
import { t, tc } from '../i18n.js';
import { badge, h, table } from '../dom.js';
import { fmtDateTime, fmtNumber } from '../format.js';
import { reasonsText } from './building.js';

/** Who/when/why lines for one reading row: who wrote this version (entry or correction), then the reviews. */
export function historyLines(r, tz) {
  const lines = [];
  // Version 1 written by a person is an entry; a higher version is a correction of what was there.
  if (r.created_by || r.reason) lines.push(t(r.version > 1 ? 'meter.correctedBy' : 'meter.enteredBy', { who: r.created_by ?? t('common.none'), when: fmtDateTime(r.received_at, tz), why: r.reason ?? t('common.none') }));
  for (const v of r.reviews ?? []) lines.push(t('meter.reviewedBy', { decision: tc('decision', v.decision), who: v.reviewed_by, when: fmtDateTime(v.reviewed_at, tz), why: v.reason }));
  if (!r.current) lines.push(t('meter.superseded'));
  return lines;
}

export async function renderMeter(id, ctx) {
  const data = await api(`/meters/${id}/overview`);
  const m = data.meter;
  const tz = m.timezone;
  const message = h('p', { class: 'notice', role: 'status', 'data-testid': 'meter-message' });

  function actionForm(r, kind, row) {
    row.parentElement.querySelectorAll('tr.action-row').forEach((x) => x.remove());
    const reason = h('input', { name: 'reason', required: true, minlength: 3, maxlength: 500, placeholder: t('meter.reason'), 'data-testid': 'action-reason' });
    const value = kind === 'correct' ? h('input', { name: 'value', type: 'number', step: 'any', required: true, value: r.value ?? '', 'data-testid': 'action-value' }) : null;
    const err = h('span', { class: 'error', role: 'alert' });
    const form = h('form', { class: 'inline', 'data-testid': `action-form-${kind}` },
      h('strong', {}, t(`meter.${kind}`)),
      value ? h('label', {}, t('meter.newValue'), value) : null,
      h('label', {}, t('meter.reason'), reason),
      h('button', { type: 'submit', class: 'primary small' }, t('meter.submit')),
      h('button', { type: 'button', class: 'small', onclick: () => tr.remove() }, t('meter.cancel')),
      err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const why = reason.value.trim();
      if (why.length < 3) { err.textContent = t('meter.reasonRequired'); return; }
      if (value && (value.value === '' || !Number.isFinite(Number(value.value)))) { err.textContent = t('meter.valueRequired'); return; }
      try {
        if (kind === 'correct') {
          await api(`/meters/${m.id}/readings/corrections`, { method: 'POST', body: { time: r.time, quantity: r.quantity, value: Number(value.value), reason: why } });
        } else {
          await api(`/meters/${m.id}/readings/review`, { method: 'POST', body: { time: r.time, quantity: r.quantity, version: r.version, decision: kind, reason: why } });
        }
        await ctx.reload();
      } catch (ex) {
        err.textContent = ex instanceof ApiError && ex.status === 404 && kind !== 'correct' ? t('common.unavailable') : `${t('common.error')}: ${ex.message}`;
      }
    });
    const tr = h('tr', { class: 'action-row' }, h('td', { colspan: 8 }, form));
    row.after(tr);
    reason.focus();
  }

  const rows = data.readings.map((r) => {
    const key = `${r.time}-v${r.version}`;
    const row = h('tr', { 'data-testid': `reading-${key}`, class: r.current ? '' : 'superseded' },
      h('td', {}, fmtDateTime(r.time, tz)),
      h('td', { class: 'num' }, r.value == null ? t('common.none') : `${fmtNumber(r.value, 3)} ${r.unit}`),
      h('td', { class: 'num' }, String(r.version)),
      h('td', {}, tc('source', r.source)),
      h('td', {}, badge('verdict', r.verdict?.status)),
      h('td', {}, reasonsText(r.verdict?.reasons)),
      h('td', { class: 'history', 'data-testid': `history-${key}` }, historyLines(r, tz).map((line) => h('div', {}, line))),
      h('td', { class: 'actions' }, r.current ? [
        h('button', { type: 'button', class: 'small', 'data-testid': `accept-${key}`, onclick: () => actionForm(r, 'accept', row) }, t('meter.accept')),
        h('button', { type: 'button', class: 'small', 'data-testid': `reject-${key}`, onclick: () => actionForm(r, 'reject', row) }, t('meter.reject')),
        h('button', { type: 'button', class: 'small', 'data-testid': `correct-${key}`, onclick: () => actionForm(r, 'correct', row) }, t('meter.correct')),
      ] : null));
    return row;
  });

  const node = h('div', { class: 'page' },
    h('p', {}, h('a', { href: `#/buildings/${m.building_id}` }, t('common.back'))),
    h('h1', { 'data-testid': 'meter-title' }, `${t('meter.title')} ${m.serial_number}`),
    h('dl', { class: 'facts' },
      h('dt', {}, t('meter.building')), h('dd', {}, h('a', { href: `#/buildings/${m.building_id}` }, m.address)),
      h('dt', {}, t('common.resource')), h('dd', {}, tc('resource', m.resource)),
      h('dt', {}, t('meter.placement')), h('dd', {}, tc('placement', m.placement)),
      h('dt', {}, t('meter.premise')), h('dd', {}, m.premise_number ?? t('common.none')),
      h('dt', {}, t('gateway.lastSeen')), h('dd', {}, fmtDateTime(m.last_seen_at, tz))),
    message,
    h('section', { class: 'card' }, h('h2', {}, t('meter.readings')),
      table([t('meter.time'), t('meter.value'), t('meter.version'), t('meter.source'), t('meter.verdict'), t('meter.reasons'), t('meter.history'), t('meter.actions')],
        rows, { 'data-testid': 'readings-table', class: 'data' })));
  return { node };
}
