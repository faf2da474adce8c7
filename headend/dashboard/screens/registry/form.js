/**
 * The registry's forms: labelled inputs with a required mark, the server's refusal split into a
 * summary and a text under each field it names (in the user's language: the API speaks English, so
 * the refusals the registry routes give are recognised by field and wording and said again here), and
 * the small conversions every form needs (empty input = no value, a wall-clock time in the building's
 * time zone = an instant).
 */
import { html, useState } from '../../../web-shared/ui.js';
import { ApiError } from '../../api.js';
import { locale, t } from '../../i18n.js';

/** Unique constraint → the form field it is about and the words for it. */
const DUPLICATES = {
  premises_building_id_number_key: ['number', 'registry.err.duplicatePremise'],
  personal_accounts_org_id_number_key: ['number', 'registry.err.duplicateAccount'],
  buildings_org_id_external_id_key: ['external_id', 'registry.err.duplicateExternalId'],
  gateways_pkey: ['id', 'registry.err.duplicateGateway'],
  bindings_current_uq: ['address', 'registry.err.duplicateBinding'],
};

/** One detail of a refusal in the user's language: recognised wording first, then by kind. */
function detailText(e, d) {
  const m = d.message ?? '';
  let x;
  if ((x = /duplicate of meter (\d+)/.exec(m))) return t('registry.err.duplicateSerial', { id: x[1] });
  if ((x = /removal reading ([\d.]+) is lower than the last reading ([\d.]+)/.exec(e.body?.message ?? ''))) return t('registry.err.removalBelowLast', { removal: x[1], last: x[2] });
  if (/after the meter's last reading|not after the new meter's last reading/.test(e.body?.message ?? '')) return t('registry.err.beforeLastReading');
  if (/is in the future/.test(m)) return t('registry.err.future');
  if (/not a plausible date/.test(m)) return t('registry.err.implausibleDate');
  if (/same local day as replacement/.test(m)) return t('registry.err.sameDay');
  if (/^unknown /.test(m)) return t('registry.err.unknownRef');
  if (/required for this placement/.test(m)) return t('registry.err.required');
  if (/does not match the premise kind/.test(m)) return t('registry.err.placementKind');
  if (e.body?.error === 'validation') return t('registry.err.invalid');
  return m;
}

/**
 * A refusal as the form shows it: `summary` over the form, `fields` (field → text) under the inputs,
 * `other` for what names no field of this form.
 */
export function refusal(e, fieldNames = []) {
  if (!e) return null;
  const fields = {};
  const other = [];
  let summary;
  if (e instanceof ApiError) {
    const code = e.body?.error;
    summary = e.status === 403 ? t('registry.err.forbidden')
      : e.status === 404 ? t('registry.err.notFound')
        : e.status === 409 ? t('registry.err.conflict')
          : e.status === 429 ? t('registry.err.rateLimited')
            : e.status >= 500 ? t('registry.err.server')
              : t('registry.err.refused');
    for (const d of Array.isArray(e.body?.details) ? e.body.details : []) {
      const dup = code === 'duplicate' ? DUPLICATES[d.path] : null;
      const field = dup ? dup[0] : String(d.path ?? '').replace(/^body\./, '').split('.')[0];
      const text = dup ? t(dup[1]) : detailText(e, d);
      if (fieldNames.includes(field)) fields[field] = fields[field] ? `${fields[field]}; ${text}` : text;
      else other.push(text);
    }
    // A 409 without details (an undo refused, an already removed meter): its reason is the server's sentence.
    if (!other.length && !Object.keys(fields).length && e.status === 409 && e.body?.message) other.push(conflictText(e.body.message));
  } else if (e instanceof TypeError) {
    summary = t('registry.err.network');
  } else {
    summary = String(e?.message ?? e);
  }
  return { summary, fields, other };
}

/** The refusals of an undo or a removed meter in the user's language; others as the server said them. */
function conflictText(m) {
  let x;
  if ((x = /billing period (\S+) is closed/.exec(m))) return t('registry.err.undoClosed', { period: x[1] });
  if ((x = /already used in the billing of (\S+)/.exec(m))) return t('registry.err.undoBilled', { period: x[1] });
  if (/is not the last operation of its meters/.test(m)) return t('registry.err.undoNotLast');
  if (/was already removed/.test(m)) return t('registry.err.alreadyRemoved');
  if (/was undone on/.test(m)) return t('registry.err.alreadyUndone');
  return m;
}

/** The refusal over a form: what went wrong, and what names no field. */
export function FormNote({ refused, testid = 'form-error' }) {
  if (!refused) return null;
  return html`<div class="note error" role="alert" data-testid=${testid}>
    <strong>${refused.summary}</strong>
    ${refused.other.length ? html`<ul>${refused.other.map((o) => html`<li>${o}</li>`)}</ul>` : null}
  </div>`;
}

export function SavedNote({ show, text, testid = 'saved' }) {
  if (!show) return null;
  return html`<p class="note ok" role="status" data-testid=${testid}>${text ?? t('registry.saved')}</p>`;
}

let seq = 0;
/** A form's values: `[values, set(name, value), reset(values)]`. */
export function useValues(initial) {
  const [values, setValues] = useState(initial);
  const set = (name, value) => setValues((v) => ({ ...v, [name]: value }));
  return [values, set, setValues];
}

/**
 * One labelled input. `kind`: text, number, date, datetime, select (with `options` [{value, label}]),
 * check. The refusal's text for `name` goes under it and marks it invalid.
 */
export function Input({ name, label, values, set, refused, kind = 'text', required, options, hint, testid, step, min, max, inputmode, autocomplete = 'off' }) {
  const [id] = useState(() => `f-${name}-${++seq}`);
  const error = refused?.fields?.[name];
  const errId = error ? `${id}-err` : undefined;
  const v = values[name] ?? '';
  const common = { id, name, 'data-testid': testid ?? `field-${name}`, 'aria-invalid': error ? 'true' : null, 'aria-describedby': errId, required: !!required };
  let control;
  if (kind === 'select') {
    control = html`<select ...${common} value=${v} onChange=${(e) => set(name, e.currentTarget.value)}>
      ${options.map((o) => html`<option value=${o.value}>${o.label}</option>`)}
    </select>`;
  } else if (kind === 'check') {
    return html`<div class="field check">
      <label for=${id}><input type="checkbox" ...${common} required=${false} checked=${!!values[name]} onChange=${(e) => set(name, e.currentTarget.checked)} /> ${label}</label>
      ${error ? html`<small class="error" id=${errId}>${error}</small>` : null}
    </div>`;
  } else {
    const type = kind === 'datetime' ? 'datetime-local' : kind === 'number' ? 'text' : kind;
    control = html`<input type=${type} ...${common} value=${v} step=${step} min=${min} max=${max} autocomplete=${autocomplete}
      inputmode=${inputmode ?? (kind === 'number' ? 'decimal' : null)} onInput=${(e) => set(name, e.currentTarget.value)} />`;
  }
  return html`<div class="field">
    <label class="label" for=${id}>${label}${required ? html`<span class="req" aria-hidden="true"> *</span>` : null}</label>
    ${control}
    ${hint ? html`<small class="muted">${hint}</small>` : null}
    ${error ? html`<small class="error" id=${errId} data-testid=${`error-${name}`}>${error}</small>` : null}
  </div>`;
}

/** Typed text → a number, or undefined when empty; a comma as decimal point is accepted ("45,5"). */
export function num(v) {
  if (v == null || String(v).trim() === '') return undefined;
  const n = Number(String(v).trim().replace(',', '.').replace(/\s/g, ''));
  return Number.isFinite(n) ? n : NaN;
}
export const str = (v) => (v == null || String(v).trim() === '' ? undefined : String(v).trim());

/**
 * Checks typed numbers before sending: a field that is not a number gets its text here, the same
 * place a server refusal would put it. Returns the refusal, or null when all is well.
 */
export function localRefusal(checks) {
  const fields = {};
  for (const [name, problem] of Object.entries(checks)) if (problem) fields[name] = problem;
  return Object.keys(fields).length ? { summary: t('registry.err.fix'), fields, other: [] } : null;
}

/** What a PATCH should carry: the fields whose value differs from the row's (empty = null, clears it). */
export function changes(body, row) {
  const out = {};
  for (const [k, v] of Object.entries(body)) {
    const now = v === undefined ? null : v;
    const was = row[k] ?? null;
    if (String(now) !== String(was)) out[k] = now;
  }
  return out;
}

// ---------------------------------------------------------------- time zone

/** Minutes the zone is ahead of UTC at this instant. */
function offsetMinutes(ms, timeZone) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    .formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return (Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - ms) / 60000;
}

/** 'YYYY-MM-DDTHH:mm' on the building's clock → ISO instant. */
export function zonedToIso(local, timeZone) {
  const [d, tm = '00:00'] = local.split('T');
  const [y, m, day] = d.split('-').map(Number);
  const [hh, mm] = tm.split(':').map(Number);
  const wall = Date.UTC(y, m - 1, day, hh, mm);
  let ms = wall - offsetMinutes(wall, timeZone) * 60000;
  ms = wall - offsetMinutes(ms, timeZone) * 60000; // again at the instant found: right across a DST change
  return new Date(ms).toISOString();
}

/** Today on the building's clock, 'YYYY-MM-DD'. */
export function zonedToday(timeZone, now = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** A calendar date ('YYYY-MM-DD') in the user's language, no time-zone shift. */
export function fmtDay(ymd) {
  if (!ymd) return t('common.none');
  const [y, m, d] = ymd.split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** An instant on the building's clock in the user's language. */
export function fmtInstant(iso, timeZone) {
  if (!iso) return t('common.none');
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(new Date(iso));
}

export function fmtNum(v, digits = 3) {
  if (v == null || v === '') return t('common.none');
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(Number(v));
}
