/**
 * The console's building blocks, shared by every screen so they look and behave alike: a page with its
 * title, cards, a data table with an empty state, badges for codes, an error note that speaks the
 * user's language, form fields with labels, and a chart. Screens compose these; they hold no styles.
 */
import { html, useEffect, useRef } from '../../web-shared/ui.js';
import { ApiError } from '../api.js';
import { addMessages, has, locale, t, tc } from '../i18n.js';
import { codeText, detailText, ERROR_TEXTS } from '../../web-shared/errors.js';
import { mountChart } from '../charts.js';

/** A screen: its title (also the document's), optional actions on the right, then the content. */
export function Page({ title, sub, actions, children, testid, titleTestid }) {
  useEffect(() => { document.title = `${title} · ${t('app.title')}`; }, [title]);
  return html`<div class="page" data-testid=${testid}>
    <div class="page-head"><h1 data-testid=${titleTestid}>${title}${sub ? html`<span class="sub">${sub}</span>` : null}</h1>${actions ? html`<div class="actions">${actions}</div>` : null}</div>
    ${children}
  </div>`;
}

export function Card({ title, children, testid, actions }) {
  return html`<section class="card" data-testid=${testid}>
    ${title || actions ? html`<div class="card-head">${title ? html`<h2>${title}</h2>` : null}${actions ? html`<div class="actions">${actions}</div>` : null}</div>` : null}
    ${children}
  </section>`;
}

/** A coloured badge for a machine code (status, verdict, severity) with its translated label. */
export function Badge({ prefix, code, testid }) {
  if (code == null) return html`<span class="muted" data-testid=${testid}>${t('common.none')}</span>`;
  return html`<span class=${`badge ${prefix}-${code}`} data-code=${code} data-testid=${testid}>${tc(prefix, code)}</span>`;
}

/**
 * A table from column specs `{ key, label, render?(row), num? }`. No rows: one line saying there is
 * nothing (the given `empty` text, else "no data"), never a table of zeros.
 */
export function DataTable({ columns, rows, rowKey = (r) => r.id, empty, testid, rowTestid, rowClass, caption, className, emptyTestid }) {
  // The wrapper scrolls a wide table on a phone: focusable so a keyboard can scroll it too.
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${caption ?? columns.slice(0, 2).map((c) => c.label).join(', ')}>
    <table data-testid=${testid} class=${className}>
      ${caption ? html`<caption class="sr-only">${caption}</caption>` : null}
      <thead><tr>${columns.map((c) => html`<th scope="col" class=${c.num ? 'num' : null}>${c.label}</th>`)}</tr></thead>
      <tbody>
        ${rows?.length
          ? rows.map((r) => html`<tr key=${rowKey(r)} data-testid=${rowTestid?.(r)} class=${rowClass?.(r)}>
              ${columns.map((c) => html`<td class=${c.num ? 'num' : null} data-label=${c.label}>${c.render ? c.render(r) : (r[c.key] ?? t('common.none'))}</td>`)}
            </tr>`)
          : html`<tr><td colspan=${columns.length} class="muted empty" data-testid=${emptyTestid}>${empty ?? t('common.empty')}</td></tr>`}
      </tbody>
    </table>
  </div>`;
}

// The server's error codes in both languages: the one catalogue both pages use.
addMessages(ERROR_TEXTS);
const i18n = { t, has, locale };

/**
 * What went wrong, in the user's language: a coded API error by its code (`error.<code>`, with the
 * server's details as placeholders), each detail by its own code when it has one; otherwise the
 * server's own words. Never a stack or an internal id.
 */
export function errorText(e) {
  if (e instanceof ApiError) {
    if (e.status === 403) return t('error.forbidden');
    if (e.status === 429 && e.body?.params?.minutes == null) return t('error.rate_limited', { seconds: e.retryAfter ?? '' });
    const code = e.body?.code ?? e.body?.error_code;
    return codeText(code, e.body?.params, i18n) ?? e.body?.message ?? e.message;
  }
  if (e instanceof TypeError) return t('error.network');
  return String(e?.message ?? e);
}

/** The details of a refusal, each in the user's language where its code is known. */
export function detailTexts(e) {
  const details = e instanceof ApiError && Array.isArray(e.body?.details) ? e.body.details : [];
  return details.map((d) => {
    const text = detailText(d, i18n, { withMeter: true });
    if (text === null) return d.message;
    // A form field refused by the schema: say which (a reading's refusal names its meter instead).
    const field = d.params?.serial == null && d.path ? d.path.replace(/^(body|query|params)\./, '') : null;
    return field ? `${field}: ${text}` : text;
  });
}

export function ErrorNote({ error, testid = 'error' }) {
  if (!error) return null;
  const details = detailTexts(error);
  return html`<div class="note error" role="alert" data-testid=${testid}>
    <strong>${errorText(error)}</strong>
    ${details.length ? html`<ul>${details.map((d) => html`<li>${d}</li>`)}</ul>` : null}
  </div>`;
}

/** Loading, failed or loaded: the three states of every screen's data. */
export function Loaded({ state, children }) {
  if (state.error) return html`<${ErrorNote} error=${state.error} />`;
  if (state.data === undefined) return html`<p class="muted" aria-busy="true">${t('common.loading')}</p>`;
  return children(state.data);
}

/** A labelled field; `hint` under it, `error` (text) marks it invalid for screen readers too. */
export function Field({ label, hint, error, children }) {
  return html`<label class="field">
    <span class="label">${label}</span>
    ${children}
    ${hint ? html`<small class="muted">${hint}</small>` : null}
    ${error ? html`<small class="error" role="alert">${error}</small>` : null}
  </label>`;
}

/** An ECharts chart; `option` null or no data: the empty text instead of an empty axis. */
export function Chart({ option, testid, empty, height = 320, label }) {
  const ref = useRef(null);
  useEffect(() => {
    if (!option || !ref.current) return undefined;
    const chart = mountChart(ref.current, option);
    return () => { if (!chart.isDisposed()) chart.dispose(); };
  }, [option]);
  if (!option) return html`<p class="muted empty" data-testid=${testid ? `${testid}-empty` : null}>${empty ?? t('common.noDataPeriod')}</p>`;
  return html`<div class="chart" role="img" aria-label=${label} ref=${ref} data-testid=${testid} style=${`height:${height}px`}></div>`;
}
