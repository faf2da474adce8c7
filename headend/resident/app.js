/**
 * Residents' page: sign-in with account number + one-time code (or an invite link), "my meters" with
 * the summary widget and one input per meter (one per tariff zone — day, night, peak — for a
 * multi-zone electricity meter), history by month with a consumption chart, RU/EN.
 *
 * The console's UI stack (web-shared/ui.js: Preact components written with htm, no build step): the
 * browser runs exactly these files, served as they are by the head-end (src/resident-page). Phone
 * first: one column, big touch targets, the keyboard a meter needs (numeric for whole-number meters,
 * decimal otherwise).
 *
 * Routes: #/ my meters · #/history history. Everything shown comes from /resident/* with the token.
 * Refusals are kept as the API's details (code + params) and worded at render time from the one
 * catalogue (web-shared/errors.js), so switching the language rewords what is on the screen.
 */
/* global location, history, sessionStorage, crypto, btoa */
import { html, render, useEffect, useMemo, useRef, useState, useLoad } from '../web-shared/ui.js';
import { messagesByField } from '../web-shared/entry-fields.js';
import { api, ApiError, setToken, token } from './api.js';
import { initLanguage, language, onLanguage, setLanguage, t } from './i18n.js';
import { consumptionOption, mountChart } from './charts.js';
import {
  explain, fieldKey, fmtDate, fmtDateTime, fmtDay, fmtMonth, fmtNumber, meterItems, meterTitle, parseReading, readInvite, retryMinutes, unitOf, widgetText, zonesOf,
} from './format.js';

/**
 * What survives leaving a screen (history and back, a reload after saving): typed values and the last
 * save, per input field (fieldKey: "12" for a single-register meter, "12-2" for zone 2 of meter 12).
 */
const kept = {
  /** fieldKey → text typed and not yet saved */
  drafts: new Map(),
  /** fieldKey → { value, received_at } of the last save on this page */
  saved: new Map(),
  savedAt: null,
};
const forget = () => { kept.drafts.clear(); kept.saved.clear(); kept.savedAt = null; };

/**
 * A note on the screen, worded when drawn: { key, params } of this page's dictionary, an API detail
 * (its code says it, web-shared/errors.js), or a message string of an older server.
 */
const say = (note) => (note && typeof note === 'object' && note.key ? t(note.key, note.params) : explain(note));

/** Lines of notes (one <span> each, so several read as separate lines); hidden when there are none. */
function Lines({ tag = 'p', cls, notes, id, testid, role }) {
  const list = notes ?? [];
  const Tag = tag;
  return html`<${Tag} class=${cls} id=${id} data-testid=${testid} role=${role} hidden=${list.length === 0}>${list.map((n, i) => html`<span key=${i}>${say(n)}</span>`)}</${Tag}>`;
}

function Header({ signedIn, hash, onSignOut }) {
  const here = hash === '#/history' ? 'history' : 'meters';
  return html`<header class="top">
    <div class="bar">
      <strong class="brand">${t('app.title')}</strong>
      <button type="button" class="lang" data-testid="lang-toggle" title=${t('lang.switchTitle')}
        onClick=${() => setLanguage(language() === 'ru' ? 'en' : 'ru')}>${t('lang.switch')}</button>
    </div>
    ${signedIn ? html`<nav class="tabs">
      <a href="#/" data-testid="nav-meters" aria-current=${here === 'meters' ? 'page' : null}>${t('nav.meters')}</a>
      <a href="#/history" data-testid="nav-history" aria-current=${here === 'history' ? 'page' : null}>${t('nav.history')}</a>
      <button type="button" class="link" data-testid="sign-out" onClick=${onSignOut}>${t('nav.signOut')}</button>
    </nav>` : null}
  </header>`;
}

// ---------- sign-in ----------

/** Why a sign-in failed, in the page's words (the API does not say whether the account or the code was wrong). */
function signInNote(ex) {
  if (!(ex instanceof ApiError)) return { key: 'common.errorWith', params: { message: ex.message } };
  if (ex.status === 401 || ex.status === 400) return { key: 'signin.failed' };
  if (ex.status === 429) return { key: 'signin.locked', params: { minutes: ex.body?.params?.minutes ?? retryMinutes(ex.retryAfter) } };
  return ex.body?.code ? ex.body : { key: 'common.errorWith', params: { message: ex.message } };
}

/**
 * The attempt key of a code entry: random, made once per account + code typed, kept with them in
 * sessionStorage and sent with every try of that entry. When a sign-in succeeded but its answer was
 * lost (no signal), the next try with the same code gets in again with it (the API accepts the spent
 * code only from the same attempt, for a few minutes); a new code or account makes a new key.
 */
const ATTEMPT_KEY = 'amr.resident.attempt';
const sameCode = (code) => code.trim().toUpperCase().replace(/[\s-]/g, '');

function attemptKeyFor(account, code) {
  const entry = { account: account.trim(), code: sameCode(code) };
  try {
    const kept = JSON.parse(sessionStorage.getItem(ATTEMPT_KEY) ?? 'null');
    if (kept && kept.account === entry.account && kept.code === entry.code && typeof kept.key === 'string') return kept.key;
  } catch { /* unreadable: a new key below */ }
  // crypto.getRandomValues, not randomUUID: the page may be opened over plain HTTP on the LAN.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const key = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  try { sessionStorage.setItem(ATTEMPT_KEY, JSON.stringify({ ...entry, key })); } catch { /* storage off: this try still carries the key */ }
  return key;
}

const forgetAttempt = () => { try { sessionStorage.removeItem(ATTEMPT_KEY); } catch { /* nothing kept */ } };

function SignIn({ invite, notice, onSignedIn }) {
  const [account, setAccount] = useState(invite?.account ?? '');
  const [code, setCode] = useState(invite?.code ?? '');
  const [busy, setBusy] = useState(false);
  // The invite link's "signing in…" line is a quiet one; every other line is an error.
  const [note, setNote] = useState(notice ? { note: notice, quiet: false } : null);

  async function signIn(a, c) {
    setBusy(true);
    try {
      const r = await api('/resident/sign-in', { method: 'POST', body: { account_number: a, code: c, attempt_key: attemptKeyFor(a, c) } });
      forgetAttempt();
      setToken(r.token);
      forget();
      if (location.hash !== '' && location.hash !== '#/') location.hash = '#/';
      onSignedIn();
    } catch (ex) {
      setBusy(false);
      setNote({ note: signInNote(ex), quiet: false });
    }
  }

  // An invite link with both values signs in at once.
  useEffect(() => {
    if (invite?.account && invite?.code) {
      setNote({ note: { key: 'signin.invite' }, quiet: true });
      signIn(invite.account, invite.code);
    }
  }, []);

  const submit = (e) => {
    e.preventDefault();
    const a = account.trim();
    const c = code.trim();
    if (!a || !c) { setNote({ note: { key: 'signin.failed' }, quiet: false }); return; }
    signIn(a, c);
  };

  return html`<form class="card signin" data-testid="signin-form" novalidate onSubmit=${submit}>
    <h1>${t('signin.title')}</h1>
    <p class="muted">${t('signin.lead')}</p>
    <label>${t('signin.account')}
      <input name="account" data-testid="signin-account" autocomplete="username" autocapitalize="characters" spellcheck="false" required maxlength="64"
        value=${account} onInput=${(e) => setAccount(e.currentTarget.value)} />
    </label>
    <label>${t('signin.code')}
      <input name="code" data-testid="signin-code" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" required maxlength="64"
        value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />
    </label>
    <button type="submit" class="primary big" data-testid="signin-submit" disabled=${busy}>${busy ? t('signin.busy') : t('signin.submit')}</button>
    <${Lines} cls=${note?.quiet ? 'muted' : 'error'} role="alert" testid="signin-error" notes=${note ? [note.note] : []} />
  </form>`;
}

// ---------- my meters ----------

function lastLine(m) {
  const last = m.last_reading;
  if (!last || last.value == null) return t('meters.lastNone');
  // A zone meter's values are shown beside each zone's input; here only when they were taken.
  if (zonesOf(m).length) return `${t('meters.lastZones', { date: fmtDate(last.time) })} · ${t('meters.submittedAt', { time: fmtDateTime(last.submitted_at) })}`;
  return `${t('meters.last', { value: fmtNumber(last.value), unit: unitOf(m.resource), date: fmtDate(last.time) })} · ${t('meters.submittedAt', { time: fmtDateTime(last.submitted_at) })}`;
}

/** The resident's own name for a meter (staff never see it): a small form under the title. */
function LabelEditor({ m, open, onClose, onSaved }) {
  const [text, setText] = useState(m.label ?? '');
  const [note, setNote] = useState(null);
  const input = useRef(null);
  useEffect(() => { if (open) input.current?.focus(); }, [open]);
  async function save() {
    const label = text.trim();
    if (!label) { setNote({ key: 'meters.labelInput' }); return; }
    try {
      await api(`/resident/meters/${m.id}/label`, { method: 'PUT', body: { label } });
      setNote(null);
      onSaved(label);
    } catch (ex) {
      setNote(ex instanceof ApiError && ex.body?.code ? ex.body : { key: 'common.errorWith', params: { message: ex.message } });
    }
  }
  return html`<div class="label-edit" hidden=${!open}>
    <input ref=${input} data-testid=${`label-input-${m.id}`} maxlength="100" required value=${text} aria-label=${t('meters.labelInput')}
      placeholder=${t(`resource.${m.resource}`)} onInput=${(e) => setText(e.currentTarget.value)} />
    <div class="row">
      <button type="button" class="primary" data-testid=${`label-save-${m.id}`} onClick=${save}>${t('meters.labelSave')}</button>
      <button type="button" onClick=${onClose}>${t('meters.labelCancel')}</button>
    </div>
    <${Lines} cls="error" role="alert" notes=${note ? [note] : []} />
  </div>`;
}

/** One input with its own refusal, warning and saved lines: the meter's only one, or one tariff zone's. */
function ReadingField({ m, zone, accepting, form }) {
  const key = fieldKey(m.id, zone);
  const unit = unitOf(m.resource);
  const last = zone ? (m.zone_readings ?? []).find((r) => r.zone === zone && r.value != null) : m.last_reading;
  const saved = kept.saved.get(key);
  const input = html`<input id=${`reading-${key}`} name=${`reading-${key}`} data-testid=${`reading-${key}`} class="reading" data-zone=${zone ?? null}
    inputmode=${m.integer_only ? 'numeric' : 'decimal'} pattern=${m.integer_only ? '[0-9 ]*' : null} autocomplete="off" enterkeyhint="done"
    disabled=${!accepting} value=${form.drafts[key] ?? ''} placeholder=${last?.value != null ? fmtNumber(last.value) : ''}
    aria-describedby=${`error-${key} warning-${key}${zone ? ` zone-last-${key}` : ''}`}
    ref=${(el) => { if (el) form.inputs.set(key, el); }} onInput=${(e) => form.edit(key, e.currentTarget.value, zone ? String(m.id) : null)} />`;
  const lines = html`
    <${Lines} cls="error" role="alert" id=${`error-${key}`} testid=${`error-${key}`} notes=${form.errors[key]} />
    <${Lines} cls="warn" id=${`warning-${key}`} testid=${`warning-${key}`} notes=${form.warnings[key]} />
    <${Lines} cls="ok" testid=${`saved-${key}`} notes=${saved ? [{ key: 'meters.savedMeter', params: { value: fmtNumber(saved.value), unit, time: fmtDateTime(saved.received_at) } }] : []} />`;
  if (!zone) {
    return html`<label class="reading-label" for=${`reading-${key}`}>${t('meters.input', { unit })}</label>${input}${lines}`;
  }
  return html`<div class="zone" data-testid=${`zone-${key}`}>
    <label class="reading-label" for=${`reading-${key}`}>${t('meters.inputZone', { zone: t(`zone.${zone}`), unit })}</label>
    <p class="muted small zone-last" id=${`zone-last-${key}`} data-testid=${`zone-last-${key}`}>
      ${last ? t('meters.zoneLast', { value: fmtNumber(last.value), unit, date: fmtDate(last.time) }) : t('meters.zoneLastNone')}</p>
    ${input}${lines}
  </div>`;
}

function MeterCard({ m, form }) {
  const accepting = m.enabled && m.window.open;
  const [label, setLabel] = useState(m.label);
  const [editing, setEditing] = useState(false);
  const named = { ...m, label };
  const zones = zonesOf(m);
  const key = String(m.id);
  return html`<section class=${`card meter${zones.length ? ' zones' : ''}`} data-testid=${`meter-${m.id}`} data-resource=${m.resource} data-zones=${zones.length || 1}>
    <div class="meter-head">
      <h2><span data-testid=${`meter-title-${m.id}`}>${meterTitle(named)}</span></h2>
      <button type="button" class="link small" data-testid=${`label-edit-${m.id}`} onClick=${() => setEditing(!editing)}>${t('meters.rename')}</button>
    </div>
    <${LabelEditor} m=${named} open=${editing} onClose=${() => setEditing(false)} onSaved=${(l) => { setLabel(l); setEditing(false); }} />
    <p class="muted small">${t(`resource.${m.resource}`)} · ${t('meters.serial', { serial: m.serial_number })}${m.next_verification_on ? ` · ${t('meters.verification', { date: fmtDay(m.next_verification_on) })}` : ''}</p>
    <p class="last" data-testid=${`meter-last-${m.id}`}>${lastLine(m)}</p>
    ${zones.length
      ? zones.map((z) => html`<${ReadingField} key=${z} m=${m} zone=${z} accepting=${accepting} form=${form} />`)
      : html`<${ReadingField} m=${m} zone=${null} accepting=${accepting} form=${form} />`}
    ${!m.enabled ? html`<p class="muted">${t('meters.disabled')}</p>`
      : !m.window.open ? html`<p class="muted" data-testid=${`closed-${m.id}`}>${t('meters.closed', { date: fmtDay(m.window.opens_on) })}</p>` : null}
    ${zones.length ? html`
      <${Lines} cls="error" role="alert" id=${`error-${key}`} testid=${`error-${key}`} notes=${form.errors[key]} />
      <${Lines} cls="warn" id=${`warning-${key}`} testid=${`warning-${key}`} notes=${form.warnings[key]} />` : null}
  </section>`;
}

/** A message for a field the page does not have (a zone it did not send) goes to its meter. */
const toFields = (perField, has) => {
  const out = {};
  for (const [key, notes] of perField) {
    const k = has(key) ? key : key.split('-')[0];
    out[k] = [...(out[k] ?? []), ...notes];
  }
  return out;
};

function Meters({ onLoaded }) {
  // Loaded here, not with useLoad: after a save the page shows "saved" only with the fresh list (widget, last readings).
  const [data, setData] = useState(null);
  const [failure, setFailure] = useState(null);
  useEffect(() => {
    let live = true;
    api('/resident/meters').then((d) => { if (live) setData(d); }, (e) => { if (live) setFailure(e); });
    return () => { live = false; };
  }, []);
  const [drafts, setDrafts] = useState(() => Object.fromEntries(kept.drafts));
  const [errors, setErrors] = useState({});
  const [warnings, setWarnings] = useState({});
  const [message, setMessage] = useState(null);
  const [pending, setPending] = useState(null);
  const [busy, setBusy] = useState(false);
  const [, setSavedAt] = useState(kept.savedAt);
  const inputs = useRef(new Map()).current;
  const confirmBox = useRef(null);
  /** The first field the 409 warned about: "Correct" takes the resident there. */
  const warned = useRef(null);
  useEffect(() => { if (data || failure) onLoaded(); }, [data, failure]);
  useEffect(() => { if (pending) confirmBox.current?.scrollIntoView({ block: 'center' }); }, [pending]);

  const inputFor = (key) => inputs.get(key) ?? inputs.get(fieldKey(key.split('-')[0], 1));
  const hideConfirm = () => { setPending(null); warned.current = null; setWarnings({}); };

  const form = {
    drafts, errors, warnings, inputs,
    // Typing clears that field's refusal (and its meter's, for a zone) and any question to confirm.
    edit(key, value, meterKey) {
      kept.drafts.set(key, value);
      setDrafts((d) => ({ ...d, [key]: value }));
      setErrors((e) => ({ ...e, [key]: [], ...(meterKey ? { [meterKey]: [] } : {}) }));
      hideConfirm();
    },
  };

  if (failure) return html`<${LoadFailure} error=${failure} />`;
  if (!data) return html`<p class="muted">${t('common.loading')}</p>`;

  async function send(readings, confirm) {
    setBusy(true);
    try {
      const r = await api('/resident/readings', { method: 'POST', body: { readings, confirm } });
      const fresh = await api('/resident/meters');
      for (const x of r.readings) {
        const key = fieldKey(x.meter_id, x.zone);
        kept.saved.set(key, { value: x.value, received_at: x.received_at });
        kept.drafts.delete(key);
      }
      kept.savedAt = r.readings[0]?.received_at ?? new Date().toISOString();
      setSavedAt(kept.savedAt);
      setDrafts(Object.fromEntries(kept.drafts));
      hideConfirm();
      setMessage(null);
      setData(fresh);
    } catch (ex) {
      // No answer at all (no signal): nothing was sent, the typed values stay on the page for another try.
      if (!(ex instanceof ApiError)) { setMessage({ key: 'meters.offlineWith', params: { message: ex.message } }); return; }
      // Kept as the API's details; worded when drawn (the language may change while they are shown).
      const perField = messagesByField(ex.body?.details, readings, (d) => d);
      if (ex.status === 409 && ex.body?.code === 'confirmation_required') {
        setPending(readings);
        setWarnings(toFields(perField, (k) => inputs.has(k)));
        warned.current = [...perField.keys()][0] ?? null;
        return;
      }
      const shown = toFields(perField, (k) => inputs.has(k));
      setErrors(shown);
      setMessage(perField.size ? { key: 'meters.refused' } : (ex.body?.code ? ex.body : ex.message));
      const first = [...perField.keys()][0];
      if (first != null) inputFor(first)?.focus();
    } finally {
      setBusy(false);
    }
  }

  function submit(e) {
    e.preventDefault();
    setMessage(null); setErrors({}); hideConfirm();
    const readings = [];
    const errs = {};
    for (const m of data.items) {
      if (!m.enabled || !m.window.open) continue;
      // One item per register; a zone meter with all its zones or none (web-shared/entry-fields.js).
      const r = meterItems(m, (z) => parseReading(drafts[fieldKey(m.id, z)] ?? '', m.integer_only), 'err.zoneMissing');
      for (const [key, err] of r.errors) errs[key] = [{ key: err }];
      readings.push(...r.items);
    }
    if (Object.keys(errs).length) { setErrors(errs); setMessage({ key: 'meters.refused' }); return; }
    if (readings.length === 0) { setMessage({ key: 'meters.nothing' }); return; }
    send(readings, false);
  }

  const s = data.summary;
  const accepting = data.items.some((m) => m.enabled && m.window.open);
  const messageLine = html`<${Lines} cls="error" role="alert" testid="form-message" notes=${message ? [message] : []} />`;
  return html`<div>
    <h1>${t('meters.title')}</h1>
    <section class=${`card widget ${s.state}`} data-testid="widget" data-state=${s.state} data-submitted=${s.submitted} data-total=${s.total}>
      <p class="widget-text" data-testid="widget-text">${widgetText(s)}</p>
    </section>
    <${Lines} cls="ok banner" role="status" testid="saved-at" notes=${kept.savedAt ? [{ key: 'meters.savedAt', params: { time: fmtDateTime(kept.savedAt) } }] : []} />
    <form data-testid="readings-form" novalidate onSubmit=${submit}>
      ${data.items.length
        ? data.items.map((m) => html`<${MeterCard} key=${m.id} m=${m} form=${form} />`)
        : html`<p class="card muted" data-testid="no-meters">${t('meters.empty')}</p>`}
      <div class="card confirm" role="alertdialog" aria-labelledby="confirm-title" data-testid="confirm-box" hidden=${!pending} ref=${confirmBox}>
        <h2 id="confirm-title">${t('meters.confirmTitle')}</h2>
        <p>${t('meters.confirmLead')}</p>
        <div class="row">
          <button type="button" class="primary big" data-testid="confirm" disabled=${busy} onClick=${() => pending && send(pending, true)}>${t('meters.confirm')}</button>
          <button type="button" class="big" data-testid="fix" onClick=${() => { const key = warned.current; hideConfirm(); if (key) inputFor(key)?.focus(); }}>${t('meters.fix')}</button>
        </div>
      </div>
      ${accepting
        // The form's message sits with the button, so it stays in view at the bottom of the phone's screen.
        ? html`<div class="sticky-submit">${messageLine}
            <button type="submit" class="primary big" data-testid="submit" disabled=${busy}>${busy ? t('meters.submitBusy') : t('meters.submit')}</button></div>`
        : messageLine}
    </form>
  </div>`;
}

// ---------- history ----------

/** The consumption bars of one register; the option is rebuilt when the language changes (axis, series name). */
function ConsumptionChart({ id, months, unit, zone }) {
  const ref = useRef(null);
  const lang = language();
  const option = useMemo(() => consumptionOption(months, unit), [months, unit, lang]);
  useEffect(() => {
    const chart = mountChart(ref.current, option);
    return () => { if (!chart.isDisposed()) chart.dispose(); };
  }, [option]);
  return html`<div class="chart" ref=${ref} data-testid=${`chart-${id}`} role="img" aria-label=${`${zone ? `${t(`zone.${zone}`)}: ` : ''}${t('history.consumption')}, ${unit}`}></div>`;
}

function RegisterBlock({ m, unit, months, zone }) {
  const id = zone ? `${m.id}-z${zone}` : `${m.id}`;
  // One month has no consumption yet (nothing before it to subtract): an empty chart would say nothing.
  const chart = months.some((x) => x.consumption != null)
    ? html`<${ConsumptionChart} id=${id} months=${months} unit=${unit} zone=${zone} />`
    : html`<p class="muted" data-testid=${`chart-none-${id}`}>${t('history.noConsumption')}</p>`;
  return html`
    ${zone ? html`<h3 data-testid=${`history-zone-${id}`}>${t(`zone.${zone}`)}</h3>` : null}
    ${chart}
    <table class="data">
      <thead><tr><th>${t('history.month')}</th><th class="num">${t('history.value')}, ${unit}</th><th class="num">${t('history.consumption')}, ${unit}</th></tr></thead>
      <tbody>${[...months].reverse().map((x) => html`<tr key=${x.month} data-testid=${`history-${id}-${x.month}`}>
        <td>${fmtMonth(x.month)}</td>
        <td class="num" data-value=${x.value}>${fmtNumber(x.value)}</td>
        <td class="num" data-value=${x.consumption ?? ''}>${fmtNumber(x.consumption)}</td>
      </tr>`)}</tbody>
    </table>`;
}

function History({ onLoaded }) {
  const state = useLoad(() => Promise.all([api('/resident/meters'), api('/resident/history?months=12')]), []);
  useEffect(() => { if (state.data || state.error) onLoaded(); }, [state.data, state.error]);
  if (state.error) return html`<${LoadFailure} error=${state.error} />`;
  if (!state.data) return html`<p class="muted">${t('common.loading')}</p>`;
  const [meters, hist] = state.data;
  // One entry per register: a zone meter has one per zone (day, night, peak), each with its own table and chart.
  const byMeter = new Map();
  for (const x of hist.meters) byMeter.set(x.meter_id, [...(byMeter.get(x.meter_id) ?? []), x]);
  const cards = meters.items.map((m) => {
    const registers = (byMeter.get(m.id) ?? []).filter((x) => x.months.length > 0);
    const unit = unitOf(m.resource);
    if (registers.length === 0) {
      return html`<section key=${m.id} class="card" data-testid=${`history-meter-${m.id}`}><h2>${meterTitle(m)}</h2><p class="muted">${t('history.empty')}</p></section>`;
    }
    return html`<section key=${m.id} class="card" data-testid=${`history-meter-${m.id}`}>
      <h2>${meterTitle(m)}</h2>
      <p class="muted small">${t(`resource.${m.resource}`)} · ${t('meters.serial', { serial: m.serial_number })}</p>
      ${registers.map((x) => html`<${RegisterBlock} key=${x.zone ?? 0} m=${m} unit=${unit} months=${x.months} zone=${x.zone ?? null} />`)}
    </section>`;
  });
  return html`<div><h1>${t('history.title')}</h1>${cards.length ? cards : html`<p class="card muted">${t('meters.empty')}</p>`}</div>`;
}

// ---------- the page ----------

/** A screen's load failed: said in the page (a 401 is the signed-out event's: the sign-in form follows). */
function LoadFailure({ error }) {
  if (error instanceof ApiError && error.status === 401) return null;
  const note = error instanceof ApiError && error.body?.code ? error.body : { key: 'common.errorWith', params: { message: error.message } };
  return html`<section class="card error" role="alert" data-testid="page-error">${say(note)}</section>`;
}

function Screen({ hash }) {
  const [busy, setBusy] = useState(true);
  const View = hash === '#/history' ? History : Meters;
  return html`<main aria-busy=${busy ? 'true' : null}>
    <${View} key=${hash} onLoaded=${() => setBusy(false)} />
  </main>`;
}

function App({ invite }) {
  const [, setLang] = useState(language());
  const [signedIn, setSignedIn] = useState(!!token());
  const [hash, setHash] = useState(location.hash);
  const [notice, setNotice] = useState(null);
  useEffect(() => onLanguage(setLang), []);
  useEffect(() => {
    const onHash = () => setHash(location.hash);
    const ended = () => { setNotice({ key: 'common.sessionEnded' }); setSignedIn(false); };
    window.addEventListener('hashchange', onHash);
    window.addEventListener('amr:signed-out', ended);
    return () => { window.removeEventListener('hashchange', onHash); window.removeEventListener('amr:signed-out', ended); };
  }, []);
  useEffect(() => { document.title = t('app.title'); });

  async function signOut() {
    try { await api('/auth/logout', { method: 'POST' }); } catch { /* the session may already be gone */ }
    setToken(null);
    forget();
    history.replaceState(null, '', location.pathname);
    setHash(location.hash);
    setNotice(null);
    setSignedIn(false);
  }

  if (!signedIn) {
    return html`<${Header} signedIn=${false} hash=${hash} />
      <main><${SignIn} key=${notice ? 'ended' : 'form'} invite=${notice ? null : invite} notice=${notice}
        onSignedIn=${() => { setHash(location.hash); setNotice(null); setSignedIn(true); }} /></main>`;
  }
  return html`<${Header} signedIn=${true} hash=${hash} onSignOut=${signOut} /><${Screen} hash=${hash} />`;
}

initLanguage();

// An invite link /resident/?account=…&code=…: take the values, drop them from the address at once
// (history, bookmarks, a screenshot), then sign in with them.
const invite = readInvite(location.href);
if (invite) {
  history.replaceState(null, '', invite.cleanUrl);
  setToken(null);
}
render(html`<${App} invite=${invite} />`, document.getElementById('app'));
