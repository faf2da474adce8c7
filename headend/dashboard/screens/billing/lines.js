/**
 * The billing month: its state (open / closed by whom and when), compute it for a building or all the
 * organisation's buildings, review the lines (filters by building, resource and method) with the
 * totals per building the API added up, recalculate a closed month, close an open one after a
 * confirmation naming the month and its total, and the lines as Excel or CSV.
 */
import { html, useAction, useLoad, useState } from '../../../web-shared/ui.js';
import { api, ApiError, download, qs } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { Card, DataTable, ErrorNote, Loaded, Page } from '../../ui/components.js';
import { BillingTabs, fmtKop, fmtMonthLong, fmtQty, fmtRub, METHODS, OrgPicker, periodOf, RESOURCES, useOrg } from './common.js';
// A month is closed for the whole organisation, whose buildings keep Moscow time unless set otherwise.
import { fmtDateTime } from '../../format.js';

export function BillingLines() {
  const { orgs, orgId, loaded, error, query, setQuery } = useOrg();
  const period = periodOf(query);
  const buildingId = query.building ? Number(query.building) : undefined;
  const buildings = useLoad(() => (orgId ? api('/buildings?limit=5000').then((bs) => bs.filter((b) => b.org_id === orgId)) : []), [orgId]);
  const state = useLoad(() => (orgId ? api(`/billing/periods/${period}?${qs({ org_id: orgId })}`) : null), [orgId, period]);
  const lines = useLoad(
    () => (orgId ? api(`/billing/lines?${qs({ period, org_id: buildingId ? undefined : orgId, building_id: buildingId, resource: query.resource, method: query.method })}`) : null),
    [orgId, period, buildingId, query.resource, query.method],
  );
  const reload = () => { state.reload(); lines.reload(); };
  const address = (id) => (buildings.data ?? []).find((b) => b.id === id)?.address ?? `#${id}`;

  let body;
  if (error) body = html`<${ErrorNote} error=${error} />`;
  else if (loaded && !orgId) body = html`<p class="muted" data-testid="billing-no-org">${t('billing.noOrg')}</p>`;
  else {
    body = html`
      <div class="filters">
        <${OrgPicker} orgs=${orgs} orgId=${orgId} onChange=${(v) => setQuery({ org: v, building: '' })} />
        <label>${t('common.month')}<input type="month" data-testid="billing-period" value=${period} onChange=${(e) => e.currentTarget.value && setQuery({ period: e.currentTarget.value })} /></label>
        <label>${t('billing.building')}<select data-testid="billing-building" value=${query.building ?? ''} onChange=${(e) => setQuery({ building: e.currentTarget.value })}>
          <option value="">${t('common.all')}</option>
          ${(buildings.data ?? []).map((b) => html`<option value=${b.id}>${b.address}</option>`)}
        </select></label>
        <label>${t('common.resource')}<select data-testid="billing-resource" value=${query.resource ?? ''} onChange=${(e) => setQuery({ resource: e.currentTarget.value })}>
          <option value="">${t('common.all')}</option>
          ${RESOURCES.map((r) => html`<option value=${r}>${tc('resource', r)}</option>`)}
        </select></label>
        <label>${t('billing.method')}<select data-testid="billing-method" value=${query.method ?? ''} onChange=${(e) => setQuery({ method: e.currentTarget.value })}>
          <option value="">${t('common.all')}</option>
          ${METHODS.map((m) => html`<option value=${m}>${tc('billing.method', m)}</option>`)}
        </select></label>
      </div>
      <${Loaded} state=${state}>${(s) => s && html`<${PeriodCard} s=${s} orgId=${orgId} period=${period}
        buildingIds=${buildingId ? [buildingId] : (buildings.data ?? []).map((b) => b.id)} onDone=${reload} />`}<//>
      <${Loaded} state=${lines}>${(l) => l && html`<${LinesView} data=${l} address=${address} period=${period} orgId=${orgId} buildingId=${buildingId} />`}<//>`;
  }
  return html`<${Page} title=${t('billing.title')} testid="billing-page">
    <${BillingTabs} current="/billing" query=${query} />
    ${body}
  <//>`;
}

function PeriodCard({ s, orgId, period, buildingIds, onDone }) {
  const [confirming, setConfirming] = useState(false);
  const [compute, computing] = useAction(async () => {
    // One building at a time: the API bills a building; the organisation's month is its buildings'.
    for (const id of buildingIds) await api(`/billing/periods/${period}/compute`, { method: 'POST', body: { building_id: id } });
    onDone();
    return true;
  });
  const [recalc, recalculating] = useAction(async () => {
    const out = [];
    for (const id of buildingIds) out.push(await api(`/billing/periods/${period}/recalculate`, { method: 'POST', body: { building_id: id } }));
    onDone();
    return out;
  });
  const [close, closing] = useAction(async () => {
    await api(`/billing/periods/${period}/close`, { method: 'POST', body: { org_id: orgId } });
    setConfirming(false);
    onDone();
    return true;
  });
  const month = fmtMonthLong(period);
  const closed = s.status === 'closed';
  return html`<${Card} title=${t('billing.period.title', { month })} testid="billing-period-card">
    <p>
      <span class=${`badge period-${s.status}`} data-testid="billing-period-status" data-code=${s.status}>${tc('billing.status', s.status)}</span>
      ${' '}<span data-testid="billing-period-total">${t('billing.period.total', { amount: fmtRub(s.totals.amount_rub), count: s.lines })}</span>
    </p>
    ${closed
      ? html`<p class="muted" data-testid="billing-closed-note">${t('billing.period.closedNote', { when: fmtDateTime(s.closed_at, 'Europe/Moscow'), who: s.closed_by ?? t('common.none') })}</p>
        <div class="actions">
          <button type="button" data-testid="billing-recalculate" disabled=${recalculating.busy || !buildingIds.length} onClick=${() => recalc()}>${t('billing.recalculate')}</button>
        </div>
        ${recalculating.result ? html`<p class="note ok" role="status" data-testid="billing-recalculated">${t('billing.recalculated', {
          count: recalculating.result.reduce((n, r) => n + r.lines, 0), month: fmtMonthLong(recalculating.result[0]?.adjustments_in) })}</p>` : null}
        <${ErrorNote} error=${recalculating.error} />`
      : html`<div class="actions">
          <button type="button" class="primary" data-testid="billing-compute" disabled=${computing.busy || !buildingIds.length} onClick=${() => compute()}>
            ${computing.busy ? t('billing.computing') : t('billing.compute')}</button>
          ${s.status === 'open' ? html`<button type="button" data-testid="billing-close" onClick=${() => setConfirming(true)}>${t('billing.close')}</button>` : null}
        </div>
        ${s.status === 'none' ? html`<p class="muted">${t('billing.period.none')}</p>` : null}
        ${confirming ? html`<div class="note warn-box" role="alertdialog" aria-labelledby="billing-confirm-text" data-testid="billing-close-confirm">
          <p id="billing-confirm-text"><strong>${t('billing.close.confirm', { month, amount: fmtRub(s.totals.amount_rub) })}</strong></p>
          <p>${t('billing.close.explain')}</p>
          <div class="actions">
            <button type="button" class="primary" data-testid="billing-close-yes" disabled=${closing.busy} onClick=${() => close()}>${t('billing.close.yes', { month })}</button>
            <button type="button" data-testid="billing-close-no" onClick=${() => setConfirming(false)}>${t('billing.close.no')}</button>
          </div>
        </div>` : null}
        <${ErrorNote} error=${periodError(computing.error) ?? periodError(closing.error)} />`}
  <//>`;
}

/** A refusal because the month is closed (someone closed it meanwhile) said in the user's words. */
function periodError(e) {
  if (e instanceof ApiError && e.status === 409) return new Error(t('billing.error.closed'));
  return e;
}

function LinesView({ data, address, period, orgId, buildingId }) {
  const [get, getting] = useAction((format) => download(`/billing/lines?${qs({ period, org_id: buildingId ? undefined : orgId, building_id: buildingId, format })}`));
  const adjustments = data.lines.filter((l) => l.kind === 'adjustment');
  const columns = [
    { key: 'building_id', label: t('billing.building'), render: (l) => address(l.building_id) },
    { key: 'account_id', label: t('billing.account'), render: (l) => `#${l.account_id}` },
    { key: 'resource', label: t('common.resource'), render: (l) => tc('resource', l.resource) },
    { key: 'method', label: t('billing.method'), render: (l) => tc('billing.method', l.method) },
    { key: 'quantity', label: t('billing.quantity'), num: true, render: (l) => fmtQty(l.quantity) },
    { key: 'amount', label: t('billing.amount'), num: true, render: (l) => html`<span data-testid=${`line-amount-${l.id}`}>${fmtKop(l.amount)}</span>` },
    { key: 'kind', label: t('billing.kind'), render: (l) => (l.kind === 'adjustment' ? tc('billing.adjustment', l.adjustment_kind) : tc('billing.kind', l.kind)) },
  ];
  return html`
    <${Card} title=${t('billing.totals')} testid="billing-totals"
      actions=${html`<button type="button" class="small" data-testid="billing-xlsx" disabled=${getting.busy} onClick=${() => get('xlsx')}>${t('billing.xlsx')}</button>
        <button type="button" class="small" data-testid="billing-csv" disabled=${getting.busy} onClick=${() => get('csv')}>${t('billing.csv')}</button>
        <button type="button" class="small" data-testid="billing-pdf" disabled=${getting.busy} onClick=${() => get('pdf')}>${t('billing.pdf')}</button>`}>
      <${DataTable} testid="billing-totals-table" caption=${t('billing.totals')} rows=${data.totals.buildings} rowKey=${(b) => b.building_id}
        rowTestid=${(b) => `total-building-${b.building_id}`} empty=${t('billing.noLines')}
        columns=${[
          { key: 'building_id', label: t('billing.building'), render: (b) => address(b.building_id) },
          { key: 'lines', label: t('billing.linesCount'), num: true },
          { key: 'amount', label: t('billing.amount'), num: true, render: (b) => html`<span data-testid="total-amount">${fmtRub(b.amount_rub)}</span>` },
        ]} />
      <p class="total-line"><strong>${t('billing.grandTotal')}: <span data-testid="billing-grand-total">${fmtRub(data.totals.amount_rub)}</span></strong></p>
      <${ErrorNote} error=${getting.error} />
    <//>
    <${Card} title=${t('billing.lines')} testid="billing-lines">
      <${DataTable} testid="billing-lines-table" caption=${t('billing.lines')} rows=${data.lines} columns=${columns}
        rowTestid=${(l) => `line-${l.id}`} empty=${t('billing.noLines')} />
    <//>
    ${adjustments.length ? html`<${Card} title=${t('billing.adjustments')} testid="billing-adjustments">
      <${DataTable} caption=${t('billing.adjustments')} rows=${adjustments} columns=${[
        { key: 'adjusts_period', label: t('billing.adjusts'), render: (l) => fmtMonthLong(l.adjusts_period) },
        { key: 'adjustment_kind', label: t('billing.kind'), render: (l) => tc('billing.adjustment', l.adjustment_kind) },
        { key: 'account_id', label: t('billing.account'), render: (l) => `#${l.account_id}` },
        { key: 'resource', label: t('common.resource'), render: (l) => tc('resource', l.resource) },
        { key: 'note', label: t('billing.note'), render: (l) => l.note ?? t('common.none') },
        { key: 'amount', label: t('billing.amount'), num: true, render: (l) => fmtKop(l.amount) },
      ]} />
    <//>` : null}`;
}
