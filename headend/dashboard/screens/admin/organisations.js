/**
 * Organisations (УО) and their billing API keys. A new key is shown once, in this screen only, and
 * never again (the server keeps a hash); revoking asks for a second click, since the billing system
 * using the key loses access at once.
 */
import { html, useState, useCallback, useLoad, useAction, navigate } from '../../../web-shared/ui.js';
import { api } from '../../api.js';
import { t } from '../../i18n.js';
import { Card, DataTable, ErrorNote, Field, Loaded } from '../../ui/components.js';
import { AdminPage, ADMIN_ZONE, when } from './common.js';

function OrganisationForm({ org, onSaved, testid }) {
  const [form, setForm] = useState({ name: org?.name ?? '', inn: org?.inn ?? '' });
  const [save, state] = useAction(useCallback(async () => {
    const body = { name: form.name.trim() };
    if (form.inn.trim()) body.inn = form.inn.trim();
    return org ? api(`/organisations/${org.id}`, { method: 'PATCH', body }) : api('/organisations', { method: 'POST', body });
  }, [form, org]));
  async function submit(e) {
    e.preventDefault();
    const saved = await save();
    if (saved) onSaved(saved);
  }
  return html`<form class="admin-form" onSubmit=${submit} data-testid=${testid}>
    <${Field} label=${t('admin.orgs.name')}><input name="name" required value=${form.name} onInput=${(e) => setForm({ ...form, name: e.currentTarget.value })} /><//>
    <${Field} label=${t('admin.orgs.inn')} hint=${t('admin.orgs.innHint')}><input name="inn" inputmode="numeric" value=${form.inn} onInput=${(e) => setForm({ ...form, inn: e.currentTarget.value })} /><//>
    <button type="submit" class="primary" disabled=${state.busy}>${t(org ? 'admin.save' : 'admin.orgs.create')}</button>
    ${org && state.result ? html`<p class="note ok" role="status">${t('admin.saved')}</p>` : null}
    <${ErrorNote} error=${state.error} />
  </form>`;
}

export function OrganisationsScreen({ me }) {
  const orgs = useLoad(() => api('/organisations'), []);
  const columns = [
    { key: 'name', label: t('admin.orgs.name'), render: (o) => html`<a href=${`#/admin/organisations/${o.id}`} data-testid=${`org-link-${o.id}`}>${o.name}</a>` },
    { key: 'inn', label: t('admin.orgs.inn') },
    { key: 'created_at', label: t('admin.created'), render: (o) => when(o.created_at) },
  ];
  return html`<${AdminPage} title=${t('admin.organisations')} testid="admin-organisations" me=${me}>
    <${Loaded} state=${orgs}>${(rows) => html`<div class="admin-grid">
      <${Card}><${DataTable} columns=${columns} rows=${rows} testid="orgs-table" caption=${t('admin.organisations')} /><//>
      <${Card} title=${t('admin.orgs.new')}><${OrganisationForm} testid="org-new" onSaved=${(o) => navigate(`/admin/organisations/${o.id}`)} /><//>
    </div>`}<//>
  <//>`;
}

function keyState(k, now) {
  if (k.revoked_at) return html`<span class="badge key-revoked">${t('admin.orgs.keyRevoked', { when: when(k.revoked_at) })}</span>`;
  if (k.expires_at && Date.parse(k.expires_at) <= now) return html`<span class="badge key-revoked">${t('admin.orgs.keyExpired')}</span>`;
  return html`<span class="badge key-live">${t('admin.orgs.keyLive')}</span>`;
}

function ApiKeys({ org }) {
  const keys = useLoad(() => api(`/organisations/${org.id}/api-keys`), [org.id]);
  const [form, setForm] = useState({ name: '', expires: '' });
  const [confirming, setConfirming] = useState(null);
  const [issue, issuing] = useAction(useCallback(async () => {
    const body = { name: form.name.trim() };
    // The last day it works, in Moscow: it stops at the end of that day there.
    if (form.expires) body.expires_at = endOfDay(form.expires);
    const issued = await api(`/organisations/${org.id}/api-keys`, { method: 'POST', body });
    setForm({ name: '', expires: '' });
    keys.reload();
    return issued;
  }, [form, org.id, keys.reload]));
  const [revoke, revoking] = useAction(useCallback(async (id) => {
    await api(`/api-keys/${id}`, { method: 'DELETE' });
    setConfirming(null);
    keys.reload();
    return id;
  }, [keys.reload]));
  const now = Date.now();
  const columns = [
    { key: 'name', label: t('admin.orgs.keyName') },
    { key: 'prefix', label: t('admin.orgs.keyPrefix'), render: (k) => html`<code>${k.prefix}…</code>` },
    { key: 'state', label: t('admin.orgs.keyState'), render: (k) => keyState(k, now) },
    { key: 'expires_at', label: t('admin.orgs.keyExpires'), render: (k) => when(k.expires_at) },
    { key: 'last_used_at', label: t('admin.orgs.keyUsed'), render: (k) => when(k.last_used_at) },
    {
      key: 'actions', label: t('admin.orgs.keyRevoke'), render: (k) => (k.revoked_at ? null : confirming === k.id
        ? html`<div class="confirm" role="group"><span>${t('admin.orgs.keyRevokeConfirm', { name: k.name })}</span>
            <button type="button" class="small danger" data-testid=${`key-revoke-confirm-${k.id}`} disabled=${revoking.busy} onClick=${() => revoke(k.id)}>${t('admin.orgs.keyRevoke')}</button>
            <button type="button" class="small" onClick=${() => setConfirming(null)}>${t('admin.cancel')}</button></div>`
        : html`<button type="button" class="small" data-testid=${`key-revoke-${k.id}`} aria-label=${t('admin.orgs.keyRevokeLabel', { name: k.name })} onClick=${() => setConfirming(k.id)}>${t('admin.orgs.keyRevoke')}</button>`),
    },
  ];
  return html`<${Card} title=${t('admin.orgs.keys')} testid="org-keys">
    <p class="muted">${t('admin.orgs.keysHint')}</p>
    <${Loaded} state=${keys}>${(rows) => html`<${DataTable} columns=${columns} rows=${rows} testid="keys-table" rowTestid=${(k) => `key-row-${k.id}`} empty=${t('admin.orgs.noKeys')} caption=${t('admin.orgs.keys')} />`}<//>
    <${ErrorNote} error=${revoking.error} />
    <form class="admin-form inline" onSubmit=${(e) => { e.preventDefault(); issue(); }}>
      <${Field} label=${t('admin.orgs.keyName')}><input name="key-name" required maxlength="100" value=${form.name} onInput=${(e) => setForm({ ...form, name: e.currentTarget.value })} /><//>
      <${Field} label=${t('admin.orgs.keyExpires')} hint=${t('admin.optional')}><input name="key-expires" type="date" value=${form.expires} onInput=${(e) => setForm({ ...form, expires: e.currentTarget.value })} /><//>
      <button type="submit" class="primary" disabled=${issuing.busy} data-testid="key-create">${t('admin.orgs.keyCreate')}</button>
    </form>
    <${ErrorNote} error=${issuing.error} />
    ${issuing.result ? html`<div class="note ok key-once" role="status" data-testid="key-issued">
      <p>${t('admin.orgs.keyShown')}</p>
      <code class="secret" data-testid="key-secret">${issuing.result.key}</code>
    </div>` : null}
  <//>`;
}

/** The instant a key given "valid until" a day stops working: the end of that day in Moscow. */
function endOfDay(day) {
  const [y, m, d] = day.split('-').map(Number);
  // Moscow has kept UTC+3 all year since 2014.
  const offset = ADMIN_ZONE === 'Europe/Moscow' ? 3 : 0;
  return new Date(Date.UTC(y, m - 1, d + 1, -offset)).toISOString();
}

export function OrganisationScreen({ me, params }) {
  const id = Number(params.id);
  const org = useLoad(() => api(`/organisations/${id}`), [id]);
  const [saved, setSaved] = useState(null);
  return html`<${AdminPage} title=${(saved ?? org.data)?.name ?? t('admin.organisations')} testid="admin-organisation" me=${me}>
    <p><a href="#/admin/organisations">${t('admin.orgs.back')}</a></p>
    <${Loaded} state=${org}>${(o) => html`<div class="admin-grid">
      <${Card} title=${t('admin.orgs.edit')}><${OrganisationForm} org=${saved ?? o} onSaved=${setSaved} testid="org-edit" /><//>
      <${ApiKeys} org=${o} />
    </div>`}<//>
  <//>`;
}
