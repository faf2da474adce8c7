/**
 * A building's personal accounts (лицевые счета): number, premise, holder, share, open or closed; a
 * new account on a premise of the building, and a change (holder, share, closing — accounts are
 * closed, never deleted). GET /accounts?building_id (or premise_id), POST/PATCH /accounts.
 */
import { html, useAction, useLoad, useQuery, useState } from '../../../web-shared/ui.js';
import { api } from '../../api.js';
import { t } from '../../i18n.js';
import { Card, DataTable, Loaded } from '../../ui/components.js';
import { BuildingFrame, useBuilding } from './common.js';
import { changes, fmtDay, fmtNum, FormNote, Input, localRefusal, num, refusal, SavedNote, str, useValues } from './form.js';

const FIELDS = ['number', 'premise_id', 'holder_name', 'share', 'opened_on', 'closed_on', 'active'];

const fromRow = (a, premiseId) => ({
  number: a.number ?? '', premise_id: String(a.premise_id ?? premiseId ?? ''), holder_name: a.holder_name ?? '', share: a.share ?? '',
  opened_on: a.opened_on ?? '', closed_on: a.closed_on ?? '', active: a.active ?? true,
});

function AccountForm({ building, premises, row, premiseId, onSaved, onCancel }) {
  const [values, set] = useValues(fromRow(row ?? {}, premiseId));
  const [local, setLocal] = useState(null);
  const [save, state] = useAction(async (body) => (row ? api(`/accounts/${row.id}`, { method: 'PATCH', body: changes(body, row) }) : api('/accounts', { method: 'POST', body: { org_id: building.org_id, ...body } })));
  const refused = local ?? refusal(state.error, FIELDS);
  async function submit(e) {
    e.preventDefault();
    const share = num(values.share);
    const bad = localRefusal({
      number: !str(values.number) ? t('registry.err.required') : null,
      premise_id: !values.premise_id ? t('registry.err.required') : null,
      share: Number.isNaN(share) || (share !== undefined && (share <= 0 || share > 1)) ? t('registry.a.shareRange') : null,
    });
    setLocal(bad);
    if (bad) return;
    const body = {
      number: str(values.number), premise_id: Number(values.premise_id), holder_name: str(values.holder_name), share,
      opened_on: str(values.opened_on), closed_on: str(values.closed_on),
    };
    if (row) body.active = !!values.active;
    const saved = await save(body);
    if (saved) onSaved(saved);
  }
  const f = { values, set, refused };
  return html`<form class="registry-form" onSubmit=${submit} noValidate data-testid="account-form">
    <${FormNote} refused=${refused} />
    <div class="form-grid">
      <${Input} ...${f} name="number" label=${t('registry.a.number')} required />
      <${Input} ...${f} name="premise_id" label=${t('registry.a.premise')} kind="select" required
        options=${[{ value: '', label: t('registry.choose') }, ...premises.map((p) => ({ value: String(p.id), label: p.number }))]} />
      <${Input} ...${f} name="holder_name" label=${t('registry.a.holder')} hint=${t('registry.a.holderHint')} />
      <${Input} ...${f} name="share" label=${t('registry.a.share')} kind="number" hint=${t('registry.a.shareHint')} />
      <${Input} ...${f} name="opened_on" label=${t('registry.a.opened')} kind="date" />
      ${row ? html`<${Input} ...${f} name="closed_on" label=${t('registry.a.closed')} kind="date" />` : null}
      ${row ? html`<${Input} ...${f} name="active" label=${t('registry.a.active')} kind="check" />` : null}
    </div>
    <div class="actions">
      <button type="submit" class="primary" disabled=${state.busy} data-testid="account-save">${t('registry.save')}</button>
      ${onCancel ? html`<button type="button" onClick=${onCancel}>${t('registry.cancel')}</button>` : null}
    </div>
  </form>`;
}

export function AccountsScreen({ params }) {
  const id = Number(params.id);
  const building = useBuilding(id);
  const [query, setQuery] = useQuery();
  const data = useLoad(async () => {
    const [accounts, premises] = await Promise.all([api(`/accounts?building_id=${id}&limit=5000`), api(`/premises?building_id=${id}&limit=5000`)]);
    premises.sort((a, b) => a.number.localeCompare(b.number, 'ru', { numeric: true }));
    return { accounts, premises };
  }, [id]);
  const [editing, setEditing] = useState(null);
  const [saved, setSaved] = useState(null);
  const onSaved = (a) => { setEditing(null); setSaved(t('registry.a.saved', { number: a.number })); data.reload(); };
  return html`<${BuildingFrame} id=${id} building=${building} tab="/accounts" testid="registry-accounts" title=${t('registry.tab.accounts')}>${(b) => html`
    <${Loaded} state=${data}>${(d) => {
      const premiseNo = new Map(d.premises.map((p) => [p.id, p.number]));
      const rows = d.accounts.filter((a) => !query.premise_id || String(a.premise_id) === query.premise_id);
      const columns = [
        { key: 'number', label: t('registry.a.number'), render: (a) => html`<strong>${a.number}</strong>` },
        { key: 'premise', label: t('registry.a.premise'), render: (a) => premiseNo.get(a.premise_id) ?? t('common.none') },
        { key: 'holder_name', label: t('registry.a.holder') },
        { key: 'share', label: t('registry.a.share'), num: true, render: (a) => fmtNum(a.share, 4) },
        { key: 'opened_on', label: t('registry.a.opened'), render: (a) => fmtDay(a.opened_on) },
        { key: 'active', label: t('registry.a.state'), render: (a) => (a.active ? t('registry.a.open') : t('registry.a.closedOn', { date: fmtDay(a.closed_on) })) },
        { key: 'actions', label: t('registry.actions'), render: (a) => html`<button type="button" class="small" data-testid=${`account-edit-${a.number}`}
            aria-label=${t('registry.a.editAria', { number: a.number })} onClick=${() => { setSaved(null); setEditing(a); }}>${t('registry.edit')}</button>
            <a class="small" href=${`#/registry/buildings/${id}/residents?account_id=${a.id}`} data-testid=${`account-residents-${a.number}`}
              aria-label=${t('registry.a.residentsAria', { number: a.number })}>${t('registry.a.residents')}</a>` },
      ];
      return html`
        <${SavedNote} show=${!!saved} text=${saved} />
        ${editing ? html`<${Card} title=${editing === 'new' ? t('registry.a.new') : t('registry.a.editOne', { number: editing.number })} testid="account-editor">
          <${AccountForm} key=${editing === 'new' ? 'new' : editing.id} building=${b} premises=${d.premises} row=${editing === 'new' ? null : editing}
            premiseId=${query.premise_id} onSaved=${onSaved} onCancel=${() => setEditing(null)} />
        <//>` : null}
        <${Card} actions=${html`<button type="button" class="primary" data-testid="account-add" onClick=${() => { setSaved(null); setEditing('new'); }}>${t('registry.a.add')}</button>`}>
          <div class="filters"><label>${t('registry.a.premise')}
            <select value=${query.premise_id ?? ''} data-testid="account-premise-filter" onChange=${(e) => setQuery({ premise_id: e.currentTarget.value })}>
              <option value="">${t('common.all')}</option>
              ${d.premises.map((p) => html`<option value=${String(p.id)}>${p.number}</option>`)}
            </select></label></div>
          <div class="registry-stack"><${DataTable} columns=${columns} rows=${rows} testid="accounts-list" rowTestid=${(a) => `account-row-${a.number}`}
            empty=${t('registry.a.none')} caption=${t('registry.tab.accounts')} /></div>
        <//>`;
    }}<//>`}
  <//>`;
}
