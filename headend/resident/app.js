/**
 * Residents' page: sign-in with account number + one-time code (or an invite link), "my meters" with
 * the summary widget and one input per meter (one per tariff zone — day, night, peak — for a
 * multi-zone electricity meter), history by month with a consumption chart, RU/EN.
 *
 * Plain ES modules, no build step, like the engineers' dashboard (../dashboard): the browser runs
 * exactly these files, served as they are by the head-end (src/resident-page). Phone first: one column,
 * big touch targets, the keyboard a meter needs (numeric for whole-number meters, decimal otherwise).
 *
 * Routes: #/ my meters · #/history history. Everything shown comes from /resident/* with the token.
 */
/* global location, history */
import { api, ApiError, setToken, token } from './api.js';
import { initLanguage, language, setLanguage, t } from './i18n.js';
import { h, setLines } from './dom.js';
import { consumptionOption, disposeCharts, mountChart } from './charts.js';
import {
  explain, fieldKey, fmtDate, fmtDateTime, fmtDay, fmtMonth, fmtNumber, messagesByField, meterItems, meterTitle, parseReading, readInvite, retryMinutes, unitOf, widgetText, zonesOf,
} from './format.js';

const app = document.getElementById('app');

/**
 * What survives a re-render (language switch, reload after saving): typed values and the last save,
 * per input field (fieldKey: "12" for a single-register meter, "12-2" for zone 2 of meter 12).
 */
const state = {
  /** fieldKey → text typed and not yet saved */
  drafts: new Map(),
  /** fieldKey → { value, received_at } of the last save on this page */
  saved: new Map(),
  savedAt: null,
  signInMessage: null,
};

function header(signedIn) {
  const hash = location.hash || '#/';
  return h('header', { class: 'top' },
    h('div', { class: 'bar' },
      h('strong', { class: 'brand' }, t('app.title')),
      h('button', {
        type: 'button', class: 'lang', 'data-testid': 'lang-toggle', title: t('lang.switchTitle'),
        onclick: () => { setLanguage(language() === 'ru' ? 'en' : 'ru'); route(); },
      }, t('lang.switch'))),
    signedIn ? h('nav', { class: 'tabs' },
      h('a', { href: '#/', 'data-testid': 'nav-meters', 'aria-current': hash === '#/' || hash === '#' ? 'page' : null }, t('nav.meters')),
      h('a', { href: '#/history', 'data-testid': 'nav-history', 'aria-current': hash === '#/history' ? 'page' : null }, t('nav.history')),
      h('button', { type: 'button', class: 'link', 'data-testid': 'sign-out', onclick: signOut }, t('nav.signOut'))) : null);
}

// ---------- sign-in ----------

function signInView(prefill = {}) {
  const err = h('p', { class: 'error', role: 'alert', 'data-testid': 'signin-error' }, state.signInMessage ?? '');
  err.hidden = !state.signInMessage;
  state.signInMessage = null;
  const button = h('button', { type: 'submit', class: 'primary big', 'data-testid': 'signin-submit' }, t('signin.submit'));
  const form = h('form', { class: 'card signin', 'data-testid': 'signin-form', novalidate: true },
    h('h1', {}, t('signin.title')),
    h('p', { class: 'muted' }, t('signin.lead')),
    h('label', {}, t('signin.account'),
      h('input', { name: 'account', 'data-testid': 'signin-account', autocomplete: 'username', autocapitalize: 'characters', spellcheck: 'false', required: true, maxlength: 64, value: prefill.account ?? '' })),
    h('label', {}, t('signin.code'),
      h('input', { name: 'code', 'data-testid': 'signin-code', autocomplete: 'one-time-code', autocapitalize: 'characters', spellcheck: 'false', required: true, maxlength: 64, value: prefill.code ?? '' })),
    button, err);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const account = form.elements.account.value.trim();
    const code = form.elements.code.value.trim();
    if (!account || !code) { setLines(err, [t('signin.failed')]); return; }
    signIn(account, code, { err, button });
  });
  return { node: form, form, err, button };
}

async function signIn(account, code, { err, button }) {
  button.disabled = true;
  button.textContent = t('signin.busy');
  try {
    const r = await api('/resident/sign-in', { method: 'POST', body: { account_number: account, code } });
    setToken(r.token);
    state.drafts.clear(); state.saved.clear(); state.savedAt = null;
    if (location.hash !== '' && location.hash !== '#/') location.hash = '#/';
    await route();
  } catch (ex) {
    button.disabled = false;
    button.textContent = t('signin.submit');
    const msg = !(ex instanceof ApiError) ? `${t('common.error')}: ${ex.message}`
      : ex.status === 401 ? t('signin.failed')
        : ex.status === 429 ? t('signin.locked', { minutes: retryMinutes(ex.retryAfter) })
          : ex.status === 400 ? t('signin.failed')
            : `${t('common.error')}: ${ex.message}`;
    setLines(err, [msg]);
  }
}

async function signOut() {
  try { await api('/auth/logout', { method: 'POST' }); } catch { /* the session may already be gone */ }
  setToken(null);
  state.drafts.clear(); state.saved.clear(); state.savedAt = null;
  history.replaceState(null, '', location.pathname);
  await route();
}

// ---------- my meters ----------

function lastLine(m) {
  const last = m.last_reading;
  if (!last || last.value == null) return t('meters.lastNone');
  // A zone meter's values are shown beside each zone's input; here only when they were taken.
  if (zonesOf(m).length) return `${t('meters.lastZones', { date: fmtDate(last.time) })} · ${t('meters.submittedAt', { time: fmtDateTime(last.submitted_at) })}`;
  return `${t('meters.last', { value: fmtNumber(last.value), unit: unitOf(m.resource), date: fmtDate(last.time) })} · ${t('meters.submittedAt', { time: fmtDateTime(last.submitted_at) })}`;
}

function labelEditor(m, titleEl) {
  const input = h('input', { 'data-testid': `label-input-${m.id}`, maxlength: 100, required: true, value: m.label ?? '', 'aria-label': t('meters.labelInput'), placeholder: t(`resource.${m.resource}`) });
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('div', { class: 'label-edit', hidden: true },
    input,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary', 'data-testid': `label-save-${m.id}`, onclick: save }, t('meters.labelSave')),
      h('button', { type: 'button', onclick: () => { form.hidden = true; } }, t('meters.labelCancel'))),
    err);
  async function save() {
    const label = input.value.trim();
    if (!label) { setLines(err, [t('meters.labelInput')]); return; }
    try {
      await api(`/resident/meters/${m.id}/label`, { method: 'PUT', body: { label } });
      m.label = label;
      titleEl.textContent = meterTitle(m);
      form.hidden = true;
      setLines(err, []);
    } catch (ex) {
      setLines(err, [`${t('common.error')}: ${ex.message}`]);
    }
  }
  const open = h('button', { type: 'button', class: 'link small', 'data-testid': `label-edit-${m.id}`, onclick: () => { form.hidden = !form.hidden; if (!form.hidden) input.focus(); } }, t('meters.rename'));
  return { open, form };
}

/**
 * One input with its own refusal, warning and saved lines: the meter's only one, or one tariff zone's.
 * ctx maps the field's key to them, so the API's answer (an index into what was sent) lands here.
 */
function readingField(m, zone, ctx, accepting) {
  const key = fieldKey(m.id, zone);
  const unit = unitOf(m.resource);
  const last = zone ? (m.zone_readings ?? []).find((r) => r.zone === zone && r.value != null) : m.last_reading;
  const input = h('input', {
    id: `reading-${key}`, name: `reading-${key}`, 'data-testid': `reading-${key}`, class: 'reading', 'data-zone': zone ?? null,
    inputmode: m.integer_only ? 'numeric' : 'decimal', pattern: m.integer_only ? '[0-9 ]*' : null, autocomplete: 'off', enterkeyhint: 'done',
    disabled: !accepting, value: state.drafts.get(key) ?? '',
    placeholder: last?.value != null ? fmtNumber(last.value) : '',
    'aria-describedby': `error-${key} warning-${key}${zone ? ` zone-last-${key}` : ''}`,
  });
  input.addEventListener('input', () => {
    state.drafts.set(key, input.value);
    setLines(ctx.errors.get(key), []);
    if (zone) setLines(ctx.errors.get(String(m.id)), []);
    ctx.onEdit();
  });
  const errors = h('p', { class: 'error', role: 'alert', id: `error-${key}`, 'data-testid': `error-${key}`, hidden: true });
  const warning = h('p', { class: 'warn', id: `warning-${key}`, 'data-testid': `warning-${key}`, hidden: true });
  const savedLine = h('p', { class: 'ok', 'data-testid': `saved-${key}`, hidden: true });
  const saved = state.saved.get(key);
  if (saved) setLines(savedLine, [t('meters.savedMeter', { value: fmtNumber(saved.value), unit, time: fmtDateTime(saved.received_at) })]);
  ctx.inputs.set(key, input); ctx.errors.set(key, errors); ctx.warnings.set(key, warning);
  if (!zone) return [h('label', { class: 'reading-label', for: `reading-${key}` }, t('meters.input', { unit })), input, errors, warning, savedLine];
  return h('div', { class: 'zone', 'data-testid': `zone-${key}` },
    h('label', { class: 'reading-label', for: `reading-${key}` }, t('meters.inputZone', { zone: t(`zone.${zone}`), unit })),
    h('p', { class: 'muted small zone-last', id: `zone-last-${key}`, 'data-testid': `zone-last-${key}` },
      last ? t('meters.zoneLast', { value: fmtNumber(last.value), unit, date: fmtDate(last.time) }) : t('meters.zoneLastNone')),
    input, errors, warning, savedLine);
}

function meterCard(m, ctx) {
  const accepting = m.enabled && m.window.open;
  const title = h('span', { 'data-testid': `meter-title-${m.id}` }, meterTitle(m));
  const editor = labelEditor(m, title);
  const zones = zonesOf(m);
  // A zone meter: one field per zone, plus the meter's own lines for what the API says of the meter as a whole.
  const fields = zones.length ? zones.map((z) => readingField(m, z, ctx, accepting)) : readingField(m, null, ctx, accepting);
  const meterLines = [];
  if (zones.length) {
    const errors = h('p', { class: 'error', role: 'alert', id: `error-${m.id}`, 'data-testid': `error-${m.id}`, hidden: true });
    const warning = h('p', { class: 'warn', id: `warning-${m.id}`, 'data-testid': `warning-${m.id}`, hidden: true });
    ctx.errors.set(String(m.id), errors); ctx.warnings.set(String(m.id), warning);
    meterLines.push(errors, warning);
  }
  return h('section', { class: `card meter${zones.length ? ' zones' : ''}`, 'data-testid': `meter-${m.id}`, 'data-resource': m.resource, 'data-zones': zones.length || 1 },
    h('div', { class: 'meter-head' }, h('h2', {}, title), editor.open),
    editor.form,
    h('p', { class: 'muted small' }, `${t(`resource.${m.resource}`)} · ${t('meters.serial', { serial: m.serial_number })}`,
      m.next_verification_on ? ` · ${t('meters.verification', { date: fmtDay(m.next_verification_on) })}` : ''),
    h('p', { class: 'last', 'data-testid': `meter-last-${m.id}` }, lastLine(m)),
    fields,
    !m.enabled ? h('p', { class: 'muted' }, t('meters.disabled')) : !m.window.open ? h('p', { class: 'muted', 'data-testid': `closed-${m.id}` }, t('meters.closed', { date: fmtDay(m.window.opens_on) })) : null,
    meterLines);
}

async function renderMeters(isCurrent) {
  const data = await api('/resident/meters');
  if (!isCurrent()) return null;
  const ctx = { inputs: new Map(), errors: new Map(), warnings: new Map(), onEdit: () => hideConfirm() };
  const byId = new Map(data.items.map((m) => [m.id, m]));
  const unitFor = (id) => (byId.has(id) ? unitOf(byId.get(id).resource) : '');
  // A message for a field the page does not have (a zone it did not send) goes to its meter's lines.
  const lineFor = (lines, key) => lines.get(key) ?? lines.get(key.split('-')[0]);
  const inputFor = (key) => ctx.inputs.get(key) ?? ctx.inputs.get(fieldKey(key.split('-')[0], 1));

  const message = h('p', { class: 'error', role: 'alert', 'data-testid': 'form-message', hidden: true });
  const savedAt = h('p', { class: 'ok banner', role: 'status', 'data-testid': 'saved-at', hidden: !state.savedAt }, state.savedAt ? t('meters.savedAt', { time: fmtDateTime(state.savedAt) }) : '');
  const submit = h('button', { type: 'submit', class: 'primary big', 'data-testid': 'submit' }, t('meters.submit'));
  let pending = null;
  /** The first field the 409 warned about: "Correct" takes the resident there. */
  let warned = null;
  const confirmButton = h('button', { type: 'button', class: 'primary big', 'data-testid': 'confirm', onclick: () => pending && send(pending, true) }, t('meters.confirm'));
  const confirmBox = h('div', { class: 'card confirm', role: 'alertdialog', 'aria-labelledby': 'confirm-title', 'data-testid': 'confirm-box', hidden: true },
    h('h2', { id: 'confirm-title' }, t('meters.confirmTitle')),
    h('p', {}, t('meters.confirmLead')),
    h('div', { class: 'row' }, confirmButton,
      h('button', { type: 'button', class: 'big', 'data-testid': 'fix', onclick: () => { const key = warned; hideConfirm(); if (key) inputFor(key)?.focus(); } }, t('meters.fix'))));

  function hideConfirm() {
    pending = null;
    warned = null;
    confirmBox.hidden = true;
    for (const w of ctx.warnings.values()) setLines(w, []);
  }
  function clearMessages() {
    setLines(message, []);
    for (const e of ctx.errors.values()) setLines(e, []);
    hideConfirm();
  }

  async function send(readings, confirm) {
    submit.disabled = true; confirmButton.disabled = true;
    submit.textContent = t('meters.submitBusy');
    try {
      const r = await api('/resident/readings', { method: 'POST', body: { readings, confirm } });
      for (const x of r.readings) {
        const key = fieldKey(x.meter_id, x.zone);
        state.saved.set(key, { value: x.value, received_at: x.received_at });
        state.drafts.delete(key);
      }
      state.savedAt = r.readings[0]?.received_at ?? new Date().toISOString();
      await route();
    } catch (ex) {
      submit.disabled = false; confirmButton.disabled = false;
      submit.textContent = t('meters.submit');
      // No answer at all (no signal): nothing was sent, the typed values stay on the page for another try.
      if (!(ex instanceof ApiError)) { setLines(message, [`${t('meters.offline')} (${ex.message})`]); return; }
      if (ex.status === 409 && ex.body?.error === 'confirmation_required') {
        pending = readings;
        const perField = messagesByField(ex.body.details, readings, unitFor);
        for (const [key, lines] of perField) setLines(lineFor(ctx.warnings, key), lines);
        warned = [...perField.keys()][0] ?? null;
        confirmBox.hidden = false;
        confirmBox.scrollIntoView({ block: 'center' });
        return;
      }
      const perField = messagesByField(ex.body?.details, readings, unitFor);
      let shown = 0;
      for (const [key, lines] of perField) {
        const el = lineFor(ctx.errors, key);
        if (el) { setLines(el, lines); shown++; }
      }
      setLines(message, [shown ? t('meters.refused') : explain(ex.message)]);
      const first = [...perField.keys()][0];
      if (first != null) inputFor(first)?.focus();
    }
  }

  const cards = data.items.map((m) => meterCard(m, ctx));
  const form = h('form', { 'data-testid': 'readings-form', novalidate: true },
    cards.length ? cards : h('p', { class: 'card muted', 'data-testid': 'no-meters' }, t('meters.empty')),
    confirmBox,
    // The form's message sits with the button, so it stays in view at the bottom of the phone's screen.
    data.items.some((m) => m.enabled && m.window.open) ? h('div', { class: 'sticky-submit' }, message, submit) : message);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearMessages();
    const readings = [];
    let bad = false;
    for (const m of data.items) {
      if (!m.enabled || !m.window.open) continue;
      // One item per register; a zone meter with all its zones or none (web-shared/entry-fields.js).
      const r = meterItems(m, (z) => parseReading(ctx.inputs.get(fieldKey(m.id, z)).value, m.integer_only), 'err.zoneMissing');
      for (const [key, err] of r.errors) setLines(ctx.errors.get(key), [t(err)]);
      if (r.errors.length) bad = true;
      readings.push(...r.items);
    }
    if (bad) { setLines(message, [t('meters.refused')]); return; }
    if (readings.length === 0) { setLines(message, [t('meters.nothing')]); return; }
    send(readings, false);
  });

  const widget = h('section', { class: `card widget ${data.summary.state}`, 'data-testid': 'widget', 'data-state': data.summary.state, 'data-submitted': data.summary.submitted, 'data-total': data.summary.total },
    h('p', { class: 'widget-text', 'data-testid': 'widget-text' }, widgetText(data.summary)));
  return { node: h('div', {}, h('h1', {}, t('meters.title')), widget, savedAt, form) };
}

// ---------- history ----------

async function renderHistory(isCurrent) {
  const [meters, hist] = await Promise.all([api('/resident/meters'), api('/resident/history?months=12')]);
  if (!isCurrent()) return null;
  // One entry per register: a zone meter has one per zone (day, night, peak), each with its own table and chart.
  const byMeter = new Map();
  for (const x of hist.meters) byMeter.set(x.meter_id, [...(byMeter.get(x.meter_id) ?? []), x]);
  const charts = [];
  const registerBlock = (m, unit, months, zone) => {
    const id = zone ? `${m.id}-z${zone}` : `${m.id}`;
    // One month has no consumption yet (nothing before it to subtract): an empty chart would say nothing.
    const chartEl = months.some((x) => x.consumption != null)
      ? h('div', { class: 'chart', 'data-testid': `chart-${id}`, role: 'img', 'aria-label': `${zone ? `${t(`zone.${zone}`)}: ` : ''}${t('history.consumption')}, ${unit}` })
      : h('p', { class: 'muted', 'data-testid': `chart-none-${id}` }, t('history.noConsumption'));
    if (chartEl.tagName === 'DIV') charts.push([chartEl, consumptionOption(months, unit)]);
    const rows = [...months].reverse().map((x) => h('tr', { 'data-testid': `history-${id}-${x.month}` },
      h('td', {}, fmtMonth(x.month)),
      h('td', { class: 'num', 'data-value': x.value }, fmtNumber(x.value)),
      h('td', { class: 'num', 'data-value': x.consumption ?? '' }, fmtNumber(x.consumption))));
    return [
      zone ? h('h3', { 'data-testid': `history-zone-${id}` }, t(`zone.${zone}`)) : null,
      chartEl,
      h('table', { class: 'data' },
        h('thead', {}, h('tr', {}, h('th', {}, t('history.month')), h('th', { class: 'num' }, `${t('history.value')}, ${unit}`), h('th', { class: 'num' }, `${t('history.consumption')}, ${unit}`))),
        h('tbody', {}, rows)),
    ].filter(Boolean);
  };
  const cards = meters.items.map((m) => {
    const registers = (byMeter.get(m.id) ?? []).filter((x) => x.months.length > 0);
    const unit = unitOf(m.resource);
    if (registers.length === 0) {
      return h('section', { class: 'card', 'data-testid': `history-meter-${m.id}` }, h('h2', {}, meterTitle(m)), h('p', { class: 'muted' }, t('history.empty')));
    }
    return h('section', { class: 'card', 'data-testid': `history-meter-${m.id}` },
      h('h2', {}, meterTitle(m)),
      h('p', { class: 'muted small' }, `${t(`resource.${m.resource}`)} · ${t('meters.serial', { serial: m.serial_number })}`),
      ...registers.flatMap((x) => registerBlock(m, unit, x.months, x.zone ?? null)));
  });
  return {
    node: h('div', {}, h('h1', {}, t('history.title')), cards.length ? cards : h('p', { class: 'card muted' }, t('meters.empty'))),
    afterMount: () => { for (const [el, option] of charts) mountChart(el, option); },
  };
}

// ---------- router ----------

let generation = 0;

/** Renders the screen for the current state and hash; a newer navigation wins over a slower older one. */
export async function route() {
  const mine = ++generation;
  const isCurrent = () => mine === generation;
  disposeCharts();
  document.title = t('app.title');
  if (!token()) {
    const view = signInView();
    app.replaceChildren(header(false), h('main', {}, view.node));
    return view;
  }
  const main = h('main', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('common.loading')));
  app.replaceChildren(header(true), main);
  try {
    const view = location.hash === '#/history' ? await renderHistory(isCurrent) : await renderMeters(isCurrent);
    if (!view || !isCurrent()) return null;
    main.replaceChildren(view.node);
    main.removeAttribute('aria-busy');
    view.afterMount?.();
  } catch (e) {
    if (!isCurrent()) return null;
    if (e instanceof ApiError && e.status === 401) return null; // the signed-out event re-renders
    main.replaceChildren(h('section', { class: 'card error', role: 'alert', 'data-testid': 'page-error' }, `${t('common.error')}: ${e.message}`));
    main.removeAttribute('aria-busy');
  }
  return null;
}

initLanguage();
window.addEventListener('hashchange', () => { route(); });
window.addEventListener('amr:signed-out', () => {
  state.signInMessage = t('common.sessionEnded');
  route();
});

// An invite link /resident/?account=…&code=…: take the values, drop them from the address at once
// (history, bookmarks, a screenshot), then sign in with them.
const invite = readInvite(location.href);
if (invite) {
  history.replaceState(null, '', invite.cleanUrl);
  setToken(null);
  generation++;
  const view = signInView(invite);
  app.replaceChildren(header(false), h('main', {}, view.node));
  if (invite.account && invite.code) {
    setLines(view.err, [t('signin.invite')]);
    view.err.classList.replace('error', 'muted');
    signIn(invite.account, invite.code, view).then(() => view.err.classList.replace('muted', 'error'));
  }
} else {
  route();
}
