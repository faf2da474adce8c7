/**
 * The people registered on a building's personal accounts (жильцы): name, account and premise, e-mail
 * and phone, registered or not (registered ones count for norms by person). Reminders to submit
 * readings go to these e-mails, so the list shows — and can be narrowed to — who has no contact at all.
 * GET /residents?building_id (one call for the whole building), GET /residents/:id before an edit (the
 * row as it is now, not as the list loaded it), POST /residents, PATCH /residents/:id.
 */
import { html, useAction, useLoad, useQuery, useState } from '../../../web-shared/ui.js';
import { api } from '../../api.js';
import { t } from '../../i18n.js';
import { Card, DataTable, Loaded } from '../../ui/components.js';
import { BuildingFrame, useBuilding } from './common.js';
import { changes, FormNote, Input, localRefusal, refusal, SavedNote, str, useValues } from './form.js';

const FIELDS = ['account_id', 'full_name', 'email', 'phone', 'registered'];
// Only a plain shape check here: the server's e-mail rule is the one that decides.
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

const hasContact = (r) => !!(r.email?.trim() || r.phone?.trim());

const fromRow = (r, accountId) => ({
  account_id: String(r.account_id ?? accountId ?? ''), full_name: r.full_name ?? '', email: r.email ?? '', phone: r.phone ?? '', registered: r.registered ?? true,
});

function ResidentForm({ accounts, row, accountId, onSaved, onCancel }) {
  const [values, set] = useValues(fromRow(row ?? {}, accountId));
  const [local, setLocal] = useState(null);
  const [save, state] = useAction(async (body) => (row
    ? api(`/residents/${row.id}`, { method: 'PATCH', body: changes(body, row) })
    : api('/residents', { method: 'POST', body })));
  const refused = local ?? refusal(state.error, FIELDS);
  async function submit(e) {
    e.preventDefault();
    const email = str(values.email);
    const bad = localRefusal({
      account_id: !values.account_id ? t('registry.err.required') : null,
      full_name: !str(values.full_name) ? t('registry.err.required') : null,
      email: email && !EMAIL.test(email) ? t('registry.res.emailBad') : null,
    });
    setLocal(bad);
    if (bad) return;
    const body = { full_name: str(values.full_name), email, phone: str(values.phone), registered: !!values.registered };
    if (!row) body.account_id = Number(values.account_id);
    const saved = await save(body);
    if (saved) onSaved(saved);
  }
  const f = { values, set, refused };
  const accountOptions = [{ value: '', label: t('registry.choose') }, ...accounts.map((a) => ({ value: String(a.id), label: a.label }))];
  return html`<form class="registry-form" onSubmit=${submit} noValidate data-testid="resident-form">
    <${FormNote} refused=${refused} />
    <div class="form-grid">
      ${row
        ? html`<p class="field"><span class="label">${t('registry.res.account')}</span> ${accounts.find((a) => a.id === row.account_id)?.label ?? t('common.none')}</p>`
        : html`<${Input} ...${f} name="account_id" label=${t('registry.res.account')} kind="select" required options=${accountOptions} />`}
      <${Input} ...${f} name="full_name" label=${t('registry.res.name')} hint=${t('registry.a.holderHint')} required />
      <${Input} ...${f} name="email" label=${t('registry.res.email')} kind="email" hint=${t('registry.res.emailHint')} />
      <${Input} ...${f} name="phone" label=${t('registry.res.phone')} kind="tel" hint=${t('registry.res.phoneHint')} />
      <${Input} ...${f} name="registered" label=${t('registry.res.registered')} kind="check" />
    </div>
    <div class="actions">
      <button type="submit" class="primary" disabled=${state.busy} data-testid="resident-save">${t('registry.save')}</button>
      ${onCancel ? html`<button type="button" onClick=${onCancel}>${t('registry.cancel')}</button>` : null}
    </div>
  </form>`;
}

/** An edit starts from the row as the server has it now (another office may have changed it since the list loaded). */
function ResidentEditor({ id, accounts, onSaved, onCancel }) {
  const row = useLoad(() => api(`/residents/${id}`), [id]);
  return html`<${Loaded} state=${row}>${(r) => html`<${ResidentForm} accounts=${accounts} row=${r} onSaved=${onSaved} onCancel=${onCancel} />`}<//>`;
}

export function ResidentsScreen({ params }) {
  const id = Number(params.id);
  const building = useBuilding(id);
  const [query, setQuery] = useQuery();
  const data = useLoad(async () => {
    const [residents, accounts, premises] = await Promise.all([
      api(`/residents?building_id=${id}&limit=5000`), api(`/accounts?building_id=${id}&limit=5000`), api(`/premises?building_id=${id}&limit=5000`)]);
    const premiseNo = new Map(premises.map((p) => [p.id, p.number]));
    const labelled = accounts.map((a) => ({ ...a, label: t('registry.res.accountLabel', { number: a.number, premise: premiseNo.get(a.premise_id) ?? t('common.none') }) }));
    labelled.sort((a, b) => a.label.localeCompare(b.label, 'ru', { numeric: true }));
    return { residents, accounts: labelled };
  }, [id]);
  const [editing, setEditing] = useState(null);
  const [saved, setSaved] = useState(null);
  const onSaved = (r) => { setEditing(null); setSaved(t('registry.res.saved', { name: r.full_name })); data.reload(); };
  const noContactOnly = query.contact === 'none';
  return html`<${BuildingFrame} id=${id} building=${building} tab="/residents" testid="registry-residents" title=${t('registry.tab.residents')}>${() => html`
    <${Loaded} state=${data}>${(d) => {
      const accountOf = new Map(d.accounts.map((a) => [a.id, a]));
      const missing = d.residents.filter((r) => !hasContact(r)).length;
      const rows = d.residents
        .filter((r) => !query.account_id || String(r.account_id) === query.account_id)
        .filter((r) => !noContactOnly || !hasContact(r));
      const columns = [
        { key: 'full_name', label: t('registry.res.name'), render: (r) => html`<strong>${r.full_name}</strong>` },
        { key: 'account', label: t('registry.res.account'), render: (r) => accountOf.get(r.account_id)?.label ?? t('common.none') },
        { key: 'email', label: t('registry.res.email'), render: (r) => r.email || t('common.none') },
        { key: 'phone', label: t('registry.res.phone'), render: (r) => r.phone || t('common.none') },
        { key: 'contact', label: t('registry.res.contact'), render: (r) => (hasContact(r)
          ? t('registry.res.contactOk')
          : html`<span class="badge resident-no-contact" data-testid=${`no-contact-${r.id}`}>${t('registry.res.noContact')}</span>`) },
        { key: 'registered', label: t('registry.res.registeredShort'), render: (r) => (r.registered ? t('registry.res.yes') : t('registry.res.no')) },
        { key: 'actions', label: t('registry.actions'), render: (r) => html`<button type="button" class="small" data-testid=${`resident-edit-${r.id}`}
            aria-label=${t('registry.res.editAria', { name: r.full_name })} onClick=${() => { setSaved(null); setEditing(r.id); }}>${t('registry.edit')}</button>` },
      ];
      const accountsForNew = d.accounts.filter((a) => a.active);
      return html`
        <${SavedNote} show=${!!saved} text=${saved} />
        ${editing ? html`<${Card} title=${editing === 'new' ? t('registry.res.new') : t('registry.res.editOne')} testid="resident-editor">
          ${editing === 'new'
            ? html`<${ResidentForm} key="new" accounts=${accountsForNew} accountId=${query.account_id} onSaved=${onSaved} onCancel=${() => setEditing(null)} />`
            : html`<${ResidentEditor} key=${editing} id=${editing} accounts=${d.accounts} onSaved=${onSaved} onCancel=${() => setEditing(null)} />`}
        <//>` : null}
        <${Card} actions=${html`<button type="button" class="primary" data-testid="resident-add" disabled=${!accountsForNew.length}
            onClick=${() => { setSaved(null); setEditing('new'); }}>${t('registry.res.add')}</button>`}>
          ${!accountsForNew.length ? html`<p class="muted" data-testid="resident-no-accounts">${t('registry.res.noAccounts')}</p>` : null}
          <p data-testid="residents-missing" class=${missing ? 'note warn' : 'muted'}>${missing ? t('registry.res.missing', { count: missing }) : t('registry.res.allReachable')}</p>
          <div class="filters">
            <label>${t('registry.res.account')}
              <select value=${query.account_id ?? ''} data-testid="resident-account-filter" onChange=${(e) => setQuery({ account_id: e.currentTarget.value })}>
                <option value="">${t('common.all')}</option>
                ${d.accounts.map((a) => html`<option value=${String(a.id)}>${a.label}</option>`)}
              </select></label>
            <label class="check"><input type="checkbox" checked=${noContactOnly} data-testid="resident-no-contact-filter"
              onChange=${(e) => setQuery({ contact: e.currentTarget.checked ? 'none' : '' })} /> ${t('registry.res.onlyNoContact')}</label>
          </div>
          <div class="registry-stack"><${DataTable} columns=${columns} rows=${rows} testid="residents-list" rowTestid=${(r) => `resident-row-${r.id}`}
            empty=${t('registry.res.none')} caption=${t('registry.tab.residents')} /></div>
        <//>`;
    }}<//>`}
  <//>`;
}
