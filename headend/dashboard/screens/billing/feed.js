/**
 * The billing feed's state for a month: per building and resource what the external billing system
 * takes (ОДПУ at the month bounds, consumption, Σ ИПУ, imbalance) and whether it is validated — with
 * each failed check, so the office knows what to fix before the month goes out.
 */
import { html, useLoad } from '../../../web-shared/ui.js';
import { api, qs } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { Card, DataTable, Loaded, Page } from '../../ui/components.js';
import { BillingTabs, fmtMonthLong, fmtQty, OrgPicker, periodOf, useOrg } from './common.js';

export function BillingFeed() {
  const { orgs, orgId, query, setQuery } = useOrg();
  const period = periodOf(query);
  const feed = useLoad(() => (orgId ? api(`/billing/feed?${qs({ period, org_id: orgId, include_unvalidated: 'true' })}`) : null), [orgId, period]);
  return html`<${Page} title=${t('billing.feed.title')} testid="billing-feed">
    <${BillingTabs} current="/billing/feed" query=${query} />
    <div class="filters">
      <${OrgPicker} orgs=${orgs} orgId=${orgId} onChange=${(v) => setQuery({ org: v })} />
      <label>${t('common.month')}<input type="month" value=${period} onChange=${(e) => e.currentTarget.value && setQuery({ period: e.currentTarget.value })} /></label>
    </div>
    <${Card} title=${t('billing.feed.month', { month: fmtMonthLong(period) })}>
      <${Loaded} state=${feed}>${(f) => html`<${DataTable} testid="billing-feed-table" caption=${t('billing.feed.title')} rows=${f?.items ?? []}
        rowKey=${(r) => r.export_id} empty=${t('billing.feed.empty')} columns=${[
          { key: 'building_id', label: t('billing.building'), render: (r) => `#${r.building_id}` },
          { key: 'resource', label: t('common.resource'), render: (r) => tc('resource', r.resource) },
          { key: 'consumption', label: t('billing.feed.consumption'), num: true, render: (r) => fmtQty(r.consumption) },
          { key: 'apartments_consumption', label: t('billing.feed.apartments'), num: true, render: (r) => fmtQty(r.apartments_consumption) },
          { key: 'validation_status', label: t('billing.feed.status'), render: (r) => html`<span class=${`badge feed-${r.validation_status}`}>${tc('billing.feed.status', r.validation_status)}</span>` },
          { key: 'reasons', label: t('billing.feed.reasons'), render: (r) => (r.reasons.length ? r.reasons.map((x) => tc('billing.feed.check', x.check)).join('; ') : t('common.none')) },
        ]} />`}<//>
    <//>
  <//>`;
}
