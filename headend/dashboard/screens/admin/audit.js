/**
 * The audit journal: who did what to which record, when and why, newest first; filtered by kind of
 * record (and its number), by who did it and by days (Moscow days, as the journal's readers count
 * them). The filters live in the hash query, so a link opens the same selection. A change is shown
 * as the fields that differ between the recorded rows before and after.
 */
import { html, useState, useEffect, useCallback, useLoad, useQuery } from '../../../web-shared/ui.js';
import { api, ApiError, qs } from '../../api.js';
import { has, t, tc } from '../../i18n.js';
import { Card, DataTable, ErrorNote, Field, Loaded } from '../../ui/components.js';
import { AdminPage, when } from './common.js';

const ENTITIES = ['user', 'organisation', 'api_key', 'building', 'premise', 'personal_account', 'meter', 'reading', 'gateway', 'quarantine', 'job'];
const PAGE = 50;

/** The instant a Moscow day starts (Moscow has kept UTC+3 all year since 2014). */
const dayStart = (day, plus = 0) => {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + plus, -3)).toISOString();
};

const short = (v) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s == null ? t('common.none') : s.length > 80 ? `${s.slice(0, 80)}…` : s;
};

/** Fields whose value differs (updated_at always does, so it says nothing). */
function changeText(e) {
  const b = e.before && typeof e.before === 'object' ? e.before : null;
  const a = e.after && typeof e.after === 'object' ? e.after : null;
  if (b && a) {
    return Object.keys({ ...b, ...a }).filter((k) => k !== 'updated_at' && JSON.stringify(b[k]) !== JSON.stringify(a[k]))
      .map((k) => `${k}: ${short(b[k])} → ${short(a[k])}`);
  }
  const one = a ?? b;
  if (one) return Object.entries(one).filter(([k]) => !['created_at', 'updated_at'].includes(k)).map(([k, v]) => `${k}: ${short(v)}`);
  return [];
}

const entityName = (entity) => (has(`admin.audit.entity.${entity}`) ? t(`admin.audit.entity.${entity}`) : entity);
const recordName = (e) => (e.entity === 'job' && e.entity_id ? tc('admin.job', e.entity_id) : e.entity_id != null ? `№ ${e.entity_id}` : '');

export function AuditScreen({ me }) {
  const [query, setQuery] = useQuery();
  const [draft, setDraft] = useState(query);
  useEffect(() => setDraft(query), [JSON.stringify(query)]);
  // Who may be picked: the users an admin manages. Others filter by record only (GET /users is admins').
  const users = useLoad(() => (me.role === 'admin' ? api('/users') : Promise.resolve(null)), [me.role]);
  const filter = {
    entity: query.entity, entity_id: query.entity ? query.entity_id : undefined, actor_id: query.actor, actor_kind: query.actor ? 'user' : undefined,
    from: query.from ? dayStart(query.from) : undefined, to: query.to ? dayStart(query.to, 1) : undefined,
  };
  const [pages, setPages] = useState([]);
  const first = useLoad(() => api(`/audit?${qs({ ...filter, limit: PAGE })}`), [JSON.stringify(filter)]);
  useEffect(() => setPages([]), [JSON.stringify(filter)]);
  const [moreError, setMoreError] = useState(null);
  const rows = [...(first.data ?? []), ...pages.flat()];
  const more = useCallback(async () => {
    try {
      setPages([...pages, await api(`/audit?${qs({ ...filter, limit: PAGE, before: rows[rows.length - 1].id })}`)]);
    } catch (e) { setMoreError(e); }
  }, [pages, rows, filter]);
  const last = pages.length ? pages[pages.length - 1] : first.data;

  const columns = [
    { key: 'at', label: t('admin.when'), render: (e) => when(e.at) },
    { key: 'actor', label: t('admin.who'), render: (e) => (e.actor_kind === 'system' ? t('admin.audit.system') : e.actor_name) },
    { key: 'action', label: t('admin.audit.action'), render: (e) => tc('admin.audit.action', e.action) },
    { key: 'entity', label: t('admin.audit.entity'), render: (e) => `${entityName(e.entity)} ${recordName(e)}`.trim() },
    { key: 'reason', label: t('admin.audit.why'), render: (e) => e.reason ?? t('common.none') },
    {
      key: 'change', label: t('admin.audit.change'), render: (e) => {
        const lines = changeText(e);
        return lines.length ? html`<ul class="change">${lines.map((l) => html`<li>${l}</li>`)}</ul>` : t('common.none');
      },
    },
  ];
  const set = (k) => (ev) => setDraft({ ...draft, [k]: ev.currentTarget.value });
  function apply(ev) {
    ev.preventDefault();
    setQuery({ entity: draft.entity, entity_id: draft.entity ? draft.entity_id : '', actor: draft.actor, from: draft.from, to: draft.to });
  }
  return html`<${AdminPage} title=${t('admin.audit')} testid="admin-audit" me=${me}>
    <form class="filters" onSubmit=${apply} data-testid="audit-filters">
      <${Field} label=${t('admin.audit.entity')}>
        <select name="entity" value=${draft.entity ?? ''} onChange=${set('entity')}>
          <option value="">${t('admin.audit.any')}</option>
          ${ENTITIES.map((e) => html`<option value=${e}>${entityName(e)}</option>`)}
        </select><//>
      <${Field} label=${t('admin.audit.entityId')}><input name="entity_id" inputmode="numeric" size="8" disabled=${!draft.entity} value=${draft.entity_id ?? ''} onInput=${set('entity_id')} /><//>
      ${users.data ? html`<${Field} label=${t('admin.audit.user')}>
        <select name="actor" value=${draft.actor ?? ''} onChange=${set('actor')} data-testid="audit-actor">
          <option value="">${t('admin.audit.anyone')}</option>
          ${users.data.map((u) => html`<option value=${u.id}>${u.username}</option>`)}
        </select><//>` : null}
      <${Field} label=${t('admin.audit.from')}><input name="from" type="date" value=${draft.from ?? ''} onInput=${set('from')} /><//>
      <${Field} label=${t('admin.audit.to')}><input name="to" type="date" value=${draft.to ?? ''} onInput=${set('to')} /><//>
      <button type="submit" class="primary" data-testid="audit-apply">${t('admin.audit.apply')}</button>
    </form>
    ${users.error && !(users.error instanceof ApiError && users.error.status === 403) ? html`<${ErrorNote} error=${users.error} />` : null}
    <${Card}>
      <${Loaded} state=${first}>${() => html`
        <${DataTable} columns=${columns} rows=${rows} testid="audit-table" rowTestid=${(e) => `audit-row-${e.id}`} empty=${t('admin.audit.empty')} caption=${t('admin.audit')} />
        ${last?.length === PAGE ? html`<button type="button" onClick=${more}>${t('admin.more')}</button>` : null}
        <${ErrorNote} error=${moreError} />`}<//>
    <//>
  <//>`;
}
