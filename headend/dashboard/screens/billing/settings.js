/**
 * Tariffs (per resource, from a month, single rate or by zones), norms (нормативы) and editions of
 * the billing rules of an organisation. Versions are never edited: a change is a new version from
 * a month, so a closed month keeps being billed by what was in force then — the forms only add.
 */
/* global FormData */
import { html, useAction, useLoad, useState } from '../../../web-shared/ui.js';
import { api } from '../../api.js';
import { locale, t, tc } from '../../i18n.js';
import { Card, DataTable, ErrorNote, Field, Loaded, Page } from '../../ui/components.js';
import { BillingTabs, fmtMonthLong, fmtQty, OrgPicker, RESOURCES, useOrg } from './common.js';

/** A price typed the way people type it in the user's language ("50,93" or "50.93"). */
const priceOf = (s) => {
  const v = String(s ?? '').trim().replace(/\s/g, '').replace(',', '.');
  return /^\d+(\.\d+)?$/.test(v) ? Number(v) : null;
};
const fmtPrice = (v) => new Intl.NumberFormat(locale(), { style: 'currency', currency: 'RUB', minimumFractionDigits: 2, maximumFractionDigits: 4 }).format(v);

function tariffText(tf) {
  if (!tf) return t('common.none');
  if (tf.kind === 'single') return fmtPrice(tf.price);
  if (tf.kind === 'zones') return tf.prices.map((p, i) => `T${i + 1}: ${fmtPrice(p)}`).join(' · ');
  return tf.blocks.map((b) => `${b.up_to == null ? '∞' : `≤ ${fmtQty(b.up_to)}`}: ${fmtPrice(b.price)}`).join(' · ');
}

export function BillingSettings() {
  const { orgs, orgId, error, query, setQuery } = useOrg();
  const [gen, setGen] = useState(0);
  const load = (path) => () => (orgId ? api(`${path}?org_id=${orgId}`).then((r) => r.items) : []);
  const tariffs = useLoad(load('/billing/tariffs'), [orgId, gen]);
  const norms = useLoad(load('/billing/norms'), [orgId, gen]);
  const rules = useLoad(load('/billing/rules'), [orgId, gen]);
  const added = () => setGen((g) => g + 1);
  return html`<${Page} title=${t('billing.settings.title')} testid="billing-settings">
    <${BillingTabs} current="/billing/tariffs" query=${query} />
    <${ErrorNote} error=${error} />
    <div class="filters"><${OrgPicker} orgs=${orgs} orgId=${orgId} onChange=${(v) => setQuery({ org: v })} /></div>
    <${Card} title=${t('billing.tariffs')} testid="billing-tariffs">
      <${Loaded} state=${tariffs}>${(items) => html`<${DataTable} testid="billing-tariffs-table" caption=${t('billing.tariffs')} rows=${items}
        rowTestid=${(r) => `tariff-${r.id}`} empty=${t('billing.tariffs.empty')} columns=${[
          { key: 'resource', label: t('common.resource'), render: (r) => tc('resource', r.resource) },
          { key: 'valid_from', label: t('billing.validFrom'), render: (r) => fmtMonthLong(r.valid_from) },
          { key: 'kind', label: t('billing.tariffKind'), render: (r) => tc('billing.tariffKind', r.tariff?.kind) },
          { key: 'tariff', label: t('billing.price'), render: (r) => tariffText(r.tariff) },
        ]} />`}<//>
      <${TariffForm} orgId=${orgId} onAdded=${added} />
    <//>
    <${Card} title=${t('billing.norms')} testid="billing-norms">
      <${Loaded} state=${norms}>${(items) => html`<${DataTable} caption=${t('billing.norms')} rows=${items} empty=${t('billing.norms.empty')} columns=${[
        { key: 'resource', label: t('common.resource'), render: (r) => tc('resource', r.resource) },
        { key: 'basis', label: t('billing.basis'), render: (r) => tc('billing.basis', r.basis) },
        { key: 'valid_from', label: t('billing.validFrom'), render: (r) => fmtMonthLong(r.valid_from) },
        { key: 'per_resident', label: t('billing.normValue'), num: true, render: (r) => fmtQty(r.per_resident) },
      ]} />`}<//>
      <${NormForm} orgId=${orgId} onAdded=${added} />
    <//>
    <${Card} title=${t('billing.rules')} testid="billing-rules">
      <${Loaded} state=${rules}>${(items) => html`<${DataTable} caption=${t('billing.rules')} rows=${items} empty=${t('billing.rules.empty')} columns=${[
        { key: 'effective_from', label: t('billing.validFrom'), render: (r) => fmtMonthLong(r.effective_from) },
        { key: 'rules', label: t('billing.rules.values'), render: (r) => rulesText(r.rules) },
      ]} />`}<//>
    <//>
  <//>`;
}

function rulesText(rules) {
  const entries = Object.entries(rules ?? {}).filter(([, v]) => v == null || typeof v !== 'object');
  if (!entries.length) return t('billing.rules.defaults');
  return entries.map(([k, v]) => `${tc('billing.rule', k)}: ${v}`).join('; ');
}

function TariffForm({ orgId, onAdded }) {
  const [problem, setProblem] = useState(null);
  const [save, saving] = useAction(async (f) => {
    const kind = f.get('kind');
    const prices = (kind === 'zones' ? [f.get('t1'), f.get('t2'), f.get('t3')].filter((x) => String(x ?? '').trim() !== '') : [f.get('t1')]).map(priceOf);
    if (!prices.length || prices.some((p) => p === null)) { setProblem(t('billing.form.badPrice')); return null; }
    setProblem(null);
    const tariff = kind === 'zones' ? { kind, prices } : { kind: 'single', price: prices[0] };
    const r = await api('/billing/tariffs', { method: 'POST', body: { org_id: orgId, resource: f.get('resource'), valid_from: `${f.get('from')}-01`, tariff } });
    onAdded();
    return r;
  });
  const [kind, setKind] = useState('single');
  return html`<form class="inline-form" data-testid="tariff-form" onSubmit=${(e) => { e.preventDefault(); save(new FormData(e.currentTarget)); }}>
    <h3>${t('billing.tariff.add')}</h3>
    <div class="form-row">
      <${Field} label=${t('common.resource')}><select name="resource">${RESOURCES.map((r) => html`<option value=${r}>${tc('resource', r)}</option>`)}</select><//>
      <${Field} label=${t('billing.validFrom')}><input type="month" name="from" required /><//>
      <${Field} label=${t('billing.tariffKind')}><select name="kind" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
        <option value="single">${tc('billing.tariffKind', 'single')}</option><option value="zones">${tc('billing.tariffKind', 'zones')}</option></select><//>
      <${Field} label=${kind === 'zones' ? t('billing.zonePrice', { n: 1 }) : t('billing.price')}><input name="t1" inputmode="decimal" required /><//>
      ${kind === 'zones' ? html`<${Field} label=${t('billing.zonePrice', { n: 2 })}><input name="t2" inputmode="decimal" required /><//>
        <${Field} label=${t('billing.zonePrice', { n: 3 })} hint=${t('billing.zone3hint')}><input name="t3" inputmode="decimal" /><//>` : null}
    </div>
    <button type="submit" class="primary" data-testid="tariff-save" disabled=${saving.busy || !orgId}>${t('billing.add')}</button>
    ${problem ? html`<p class="error" role="alert">${problem}</p>` : null}
    ${saving.result ? html`<p class="note ok" role="status" data-testid="tariff-saved">${t('billing.saved')}</p>` : null}
    <${ErrorNote} error=${saving.error} />
  </form>`;
}

function NormForm({ orgId, onAdded }) {
  const [problem, setProblem] = useState(null);
  const [save, saving] = useAction(async (f) => {
    const value = priceOf(f.get('value'));
    if (value === null) { setProblem(t('billing.form.badNorm')); return null; }
    setProblem(null);
    const r = await api('/billing/norms', { method: 'POST', body: { org_id: orgId, resource: f.get('resource'), basis: f.get('basis'), valid_from: `${f.get('from')}-01`, per_resident: value } });
    onAdded();
    return r;
  });
  return html`<form class="inline-form" data-testid="norm-form" onSubmit=${(e) => { e.preventDefault(); save(new FormData(e.currentTarget)); }}>
    <h3>${t('billing.norm.add')}</h3>
    <div class="form-row">
      <${Field} label=${t('common.resource')}><select name="resource">${RESOURCES.map((r) => html`<option value=${r}>${tc('resource', r)}</option>`)}</select><//>
      <${Field} label=${t('billing.basis')}><select name="basis">${['resident', 'common_area_m2', 'heating_m2'].map((b) => html`<option value=${b}>${tc('billing.basis', b)}</option>`)}</select><//>
      <${Field} label=${t('billing.validFrom')}><input type="month" name="from" required /><//>
      <${Field} label=${t('billing.normValue')}><input name="value" inputmode="decimal" required /><//>
    </div>
    <button type="submit" class="primary" disabled=${saving.busy || !orgId}>${t('billing.add')}</button>
    ${problem ? html`<p class="error" role="alert">${problem}</p>` : null}
    ${saving.result ? html`<p class="note ok" role="status">${t('billing.saved')}</p>` : null}
    <${ErrorNote} error=${saving.error} />
  </form>`;
}
