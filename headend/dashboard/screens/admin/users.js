/**
 * Users: the list with a search, a new user (role, password by the one password policy — the API
 * names the rule a weak one breaks), and one user's page: role, blocked or not, a new password, the
 * buildings granted (the API's tenancy decides which buildings an admin may hand out) and, for a
 * resident, the personal accounts bound.
 */
import { html, useState, useMemo, useCallback, useLoad, useAction, useQuery, navigate } from '../../../web-shared/ui.js';
import { api, ApiError, qs } from '../../api.js';
import { t } from '../../i18n.js';
import { Card, DataTable, ErrorNote, Field, Loaded } from '../../ui/components.js';
import { AdminPage, STAFF_ROLES, roleName } from './common.js';

/**
 * The password policy's refusal (auth/password-policy.ts names the rule it broke, in English) in the
 * user's language; any other refusal as the shared error note shows it.
 */
const PASSWORD_RULES = [
  [/at least \d+ characters/, 'length'], [/must not be the login/, 'login'], [/repeats one or two characters/, 'repeats'], [/common passwords/, 'common'],
];
function UserError({ error, testid }) {
  const details = error instanceof ApiError && error.status === 400 ? error.body?.details ?? [] : [];
  // Only when the password is all that was wrong: otherwise the note lists every field.
  const detail = details.length === 1 && details[0].path === 'body.password' ? details[0] : null;
  const rule = detail && PASSWORD_RULES.find(([re]) => re.test(detail.message))?.[1];
  if (!rule) return html`<${ErrorNote} error=${error} testid=${testid} />`;
  return html`<div class="note error" role="alert" data-testid=${testid}><strong>${t('admin.users.weakPassword', { rule: t(`admin.users.rule.${rule}`) })}</strong></div>`;
}

/** Buildings and organisations the caller sees, for the grant pickers (one request each). */
async function loadPlaces() {
  const [organisations, buildings] = await Promise.all([api('/organisations'), api('/buildings?limit=5000')]);
  return { organisations, buildings };
}

function RoleSelect({ value, onChange, id }) {
  return html`<select id=${id} name="role" value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
    ${STAFF_ROLES.map((r) => html`<option value=${r}>${roleName(r)}</option>`)}
  </select>`;
}

function NewUser({ organisations, onCreated }) {
  const [form, setForm] = useState({ username: '', display_name: '', role: 'engineer', password: '', org: '' });
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const [create, state] = useAction(useCallback(async () => {
    const body = { username: form.username.trim(), password: form.password, role: form.role };
    if (form.display_name.trim()) body.display_name = form.display_name.trim();
    return api('/users', { method: 'POST', body });
  }, [form]));
  async function submit(e) {
    e.preventDefault();
    const user = await create();
    if (user) onCreated(user, form.org);
  }
  return html`<${Card} title=${t('admin.users.new')} testid="user-new">
    <form class="admin-form" onSubmit=${submit}>
      <${Field} label=${t('admin.users.username')}><input name="username" required autocomplete="off" value=${form.username} onInput=${set('username')} /><//>
      <${Field} label=${t('admin.users.name')} hint=${t('admin.optional')}><input name="display_name" value=${form.display_name} onInput=${set('display_name')} /><//>
      <${Field} label=${t('admin.users.role')}><${RoleSelect} value=${form.role} onChange=${(role) => setForm({ ...form, role })} /><//>
      ${form.role !== 'admin' ? html`<${Field} label=${t('admin.users.organisation')} hint=${t('admin.users.organisationHint')}>
        <select name="org" value=${form.org} onChange=${set('org')}>
          <option value="">${t('admin.users.anyOrganisation')}</option>
          ${organisations.map((o) => html`<option value=${o.id}>${o.name}</option>`)}
        </select><//>` : null}
      <${Field} label=${t('admin.users.password')} hint=${t('admin.users.passwordHint')}>
        <input name="password" type="password" required autocomplete="new-password" value=${form.password} onInput=${set('password')} /><//>
      <button type="submit" class="primary" disabled=${state.busy} data-testid="user-create">${t('admin.users.create')}</button>
      <${UserError} error=${state.error} testid="user-new-error" />
    </form>
  <//>`;
}

export function UsersScreen({ me }) {
  const users = useLoad(() => api('/users'), []);
  const places = useLoad(loadPlaces, []);
  const [query, setQuery] = useQuery();
  const search = (query.q ?? '').toLowerCase();
  const rows = useMemo(() => (users.data ?? []).filter((u) => !search || `${u.username} ${u.display_name ?? ''}`.toLowerCase().includes(search)), [users.data, search]);
  const columns = [
    { key: 'username', label: t('admin.users.username'), render: (u) => html`<a href=${`#/admin/users/${u.id}`} data-testid=${`user-link-${u.username}`}>${u.username}</a>` },
    { key: 'display_name', label: t('admin.users.name') },
    { key: 'role', label: t('admin.users.role'), render: (u) => roleName(u.role) },
    { key: 'active', label: t('admin.users.state'), render: (u) => html`<span class=${`badge user-${u.active ? 'active' : 'blocked'}`}>${t(u.active ? 'admin.users.active' : 'admin.users.blocked')}</span>` },
  ];
  return html`<${AdminPage} title=${t('admin.users')} testid="admin-users" me=${me}>
    <${Loaded} state=${users}>${() => html`
      <div class="admin-grid">
        <${Card}>
          <${Field} label=${t('admin.users.search')}><input type="search" value=${query.q ?? ''} onInput=${(e) => setQuery({ q: e.currentTarget.value }, { replace: true })} /><//>
          <${DataTable} columns=${columns} rows=${rows} testid="users-table" rowTestid=${(u) => `user-row-${u.username}`} caption=${t('admin.users')} />
        <//>
        ${places.data ? html`<${NewUser} organisations=${places.data.organisations}
          onCreated=${(u, org) => navigate(`/admin/users/${u.id}${org ? `?org=${org}` : ''}`)} />` : html`<${ErrorNote} error=${places.error} />`}
      </div>`}<//>
  <//>`;
}

function EditUser({ user, onSaved }) {
  const [form, setForm] = useState({ display_name: user.display_name ?? '', email: user.email ?? '', role: user.role, blocked: !user.active, password: '' });
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const [save, state] = useAction(useCallback(async () => {
    const body = { role: form.role, active: !form.blocked, display_name: form.display_name.trim() || null, email: form.email.trim() || null };
    if (form.password) body.password = form.password;
    return api(`/users/${user.id}`, { method: 'PATCH', body });
  }, [form, user.id]));
  async function submit(e) {
    e.preventDefault();
    const saved = await save();
    if (saved) { setForm((f) => ({ ...f, password: '' })); onSaved(saved); }
  }
  return html`<${Card} title=${user.username} testid="user-edit">
    <form class="admin-form" onSubmit=${submit}>
      <${Field} label=${t('admin.users.name')}><input name="display_name" value=${form.display_name} onInput=${set('display_name')} /><//>
      <${Field} label=${t('admin.users.email')}><input name="email" type="email" value=${form.email} onInput=${set('email')} /><//>
      <${Field} label=${t('admin.users.role')}><${RoleSelect} value=${form.role} onChange=${(role) => setForm({ ...form, role })} /><//>
      <label class="check"><input type="checkbox" name="blocked" checked=${form.blocked} onChange=${(e) => setForm({ ...form, blocked: e.currentTarget.checked })} /> ${t('admin.users.block')}</label>
      <${Field} label=${t('admin.users.newPassword')} hint=${t('admin.users.newPasswordHint')}>
        <input name="password" type="password" autocomplete="new-password" value=${form.password} onInput=${set('password')} /><//>
      <button type="submit" class="primary" disabled=${state.busy} data-testid="user-save">${t('admin.save')}</button>
      ${state.result ? html`<p class="note ok" role="status" data-testid="user-saved">${t('admin.saved')}</p>` : null}
      <${UserError} error=${state.error} testid="user-edit-error" />
    </form>
  <//>`;
}

function Grants({ user, places, org }) {
  const grants = useLoad(() => api(`/users/${user.id}/grants`), [user.id]);
  const [orgId, setOrgId] = useState(org ?? '');
  const [building, setBuilding] = useState('');
  const byId = useMemo(() => new Map(places.buildings.map((b) => [b.id, b])), [places]);
  const orgName = useMemo(() => new Map(places.organisations.map((o) => [o.id, o.name])), [places]);
  const offered = places.buildings.filter((b) => (!orgId || String(b.org_id) === String(orgId)) && !(grants.data ?? []).includes(b.id));
  const [grant, granting] = useAction(useCallback(async (buildingId) => {
    await api(`/users/${user.id}/grants`, { method: 'POST', body: { building_id: Number(buildingId) } });
    setBuilding('');
    grants.reload();
    return true;
  }, [user.id, grants.reload]));
  const [revoke, revoking] = useAction(useCallback(async (buildingId) => {
    await api(`/users/${user.id}/grants/${buildingId}`, { method: 'DELETE' });
    grants.reload();
    return true;
  }, [user.id, grants.reload]));
  const label = (id) => {
    const b = byId.get(id);
    return b ? `${b.address} · ${orgName.get(b.org_id) ?? ''}` : `#${id}`;
  };
  if (user.role === 'admin') return html`<${Card} title=${t('admin.users.grants')} testid="user-grants"><p class="muted">${t('admin.users.adminSeesAll')}</p><//>`;
  return html`<${Card} title=${t('admin.users.grants')} testid="user-grants">
    <p class="muted">${t('admin.users.grantsHint')}</p>
    <${Loaded} state=${grants}>${(ids) => (ids.length
      ? html`<ul class="grant-list" data-testid="grant-list">${ids.map((id) => html`<li key=${id} data-testid=${`grant-${id}`}>
          <span>${label(id)}</span>
          <button type="button" class="small" aria-label=${t('admin.users.revokeLabel', { address: label(id) })} disabled=${revoking.busy} onClick=${() => revoke(id)}>${t('admin.users.revoke')}</button>
        </li>`)}</ul>`
      : html`<p class="muted" data-testid="grant-none">${t('admin.users.noGrants')}</p>`)}<//>
    <form class="admin-form inline" onSubmit=${(e) => { e.preventDefault(); if (building) grant(building); }}>
      <${Field} label=${t('admin.users.organisation')}>
        <select name="grant-org" value=${orgId} onChange=${(e) => { setOrgId(e.currentTarget.value); setBuilding(''); }}>
          <option value="">${t('admin.users.anyOrganisation')}</option>
          ${places.organisations.map((o) => html`<option value=${o.id}>${o.name}</option>`)}
        </select><//>
      <${Field} label=${t('admin.users.grantBuilding')}>
        <select name="grant-building" data-testid="grant-building" required value=${building} onChange=${(e) => setBuilding(e.currentTarget.value)}>
          <option value="">${t('admin.users.pick')}</option>
          ${offered.map((b) => html`<option value=${b.id}>${b.address}</option>`)}
        </select><//>
      <button type="submit" class="primary" disabled=${granting.busy || !building} data-testid="grant-submit">${t('admin.users.grant')}</button>
    </form>
    <${ErrorNote} error=${granting.error ?? revoking.error} testid="grant-error" />
  <//>`;
}

function Accounts({ user, places }) {
  const [orgId, setOrgId] = useState(places.organisations.length === 1 ? String(places.organisations[0].id) : '');
  const [number, setNumber] = useState('');
  const [problem, setProblem] = useState('');
  const [bind, state] = useAction(useCallback(async () => {
    const found = await api(`/accounts?${qs({ org_id: orgId, number: number.trim() })}`);
    if (!found.length) { setProblem(t('admin.users.accountUnknown', { number: number.trim() })); return undefined; }
    await api(`/users/${user.id}/accounts`, { method: 'POST', body: { personal_account_id: found[0].id } });
    return found[0].number;
  }, [orgId, number, user.id]));
  async function submit(e) {
    e.preventDefault();
    setProblem('');
    if (!orgId) { setProblem(t('admin.users.needOrganisation')); return; }
    await bind();
  }
  return html`<${Card} title=${t('admin.users.accounts')} testid="user-accounts">
    <p class="muted">${t('admin.users.accountsHint')}</p>
    <form class="admin-form inline" onSubmit=${submit}>
      <${Field} label=${t('admin.users.organisation')}>
        <select name="account-org" value=${orgId} onChange=${(e) => setOrgId(e.currentTarget.value)}>
          <option value="">${t('admin.users.pick')}</option>
          ${places.organisations.map((o) => html`<option value=${o.id}>${o.name}</option>`)}
        </select><//>
      <${Field} label=${t('admin.users.accountNumber')}><input name="account-number" required value=${number} onInput=${(e) => setNumber(e.currentTarget.value)} /><//>
      <button type="submit" class="primary" disabled=${state.busy}>${t('admin.users.bind')}</button>
    </form>
    ${problem ? html`<p class="note error" role="alert">${problem}</p>` : null}
    ${state.result ? html`<p class="note ok" role="status" data-testid="account-bound">${t('admin.users.bound', { number: state.result })}</p>` : null}
    <${ErrorNote} error=${state.error} />
  <//>`;
}

export function UserScreen({ me, params }) {
  const id = Number(params.id);
  const [query] = useQuery();
  // There is no single-user read: the list is what an admin may manage, and the user is one of them.
  const users = useLoad(() => api('/users'), [id]);
  const places = useLoad(loadPlaces, []);
  const [saved, setSaved] = useState(null);
  return html`<${AdminPage} title=${t('admin.users')} testid="admin-user" me=${me}>
    <p><a href="#/admin/users">${t('admin.users.back')}</a></p>
    <${Loaded} state=${users}>${(list) => {
      const user = saved?.id === id ? saved : list.find((u) => u.id === id);
      if (!user) return html`<section class="card notice" data-testid="not-found"><p>${t('common.notFound')}</p></section>`;
      return html`<div class="admin-grid">
        <${EditUser} user=${user} onSaved=${setSaved} key=${user.id} />
        <div>
          <${Loaded} state=${places}>${(p) => html`
            ${user.role === 'resident' ? html`<${Accounts} user=${user} places=${p} />` : html`<${Grants} user=${user} places=${p} org=${query.org} />`}`}<//>
        </div>
      </div>`;
    }}<//>
  <//>`;
}
