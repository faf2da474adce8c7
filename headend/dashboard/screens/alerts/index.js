/**
 * Alert triage: the caller's alerts counted per building and kind ("ул. Ленина, 1 — прибор молчит: 30"),
 * filtered by building, kind, severity, state and period (the filters live in the hash query, so a
 * reload or a shared link opens the same view); a group expands to its alerts, worded in the reader's
 * language with times in the building's zone; a group or a selection is acknowledged with one reason
 * (POST /alerts/ack: all or nothing, each alert checked against the user's buildings by the API).
 */
import { html, useState, useCallback, useEffect, useQuery, useLoad, useAction } from '../../../web-shared/ui.js';
import { api, qs } from '../../api.js';
import { t } from '../../i18n.js';
import { Badge, ErrorNote, Loaded, Page } from '../../ui/components.js';
import { fmtAgo, fmtZoned } from '../../ui/time.js';
import { alertText, messages as textMessages } from './text.js';

const KINDS = ['meter_silent', 'gateway_silent', 'imbalance', 'policy_job', 'access_code_key', 'heat_delivery_failed', 'heat_mail_failed', 'heat_statement_outdated'];
const SEVERITIES = ['critical', 'warning', 'info'];
/** The state filter: what each choice asks the API for. */
const STATES = {
  unacked: { open: 'true', acknowledged: 'false' },
  open: { open: 'true' },
  acked: { acknowledged: 'true' },
  cleared: { open: 'false' },
  all: {},
};

/** Dates typed as YYYY-MM-DD are whole days in the viewer's zone: `to` includes its day. */
function dayStart(d, plusDays = 0) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(d ?? '')) return undefined;
  const at = new Date(`${d}T00:00:00`);
  at.setDate(at.getDate() + plusDays);
  return at.toISOString();
}

/** The API filter from the hash query. */
function filterOf(query) {
  return {
    ...(STATES[query.state ?? 'unacked'] ?? STATES.unacked),
    building_id: query.building || undefined,
    kind: KINDS.includes(query.kind) ? query.kind : undefined,
    severity: SEVERITIES.includes(query.severity) ? query.severity : undefined,
    from: dayStart(query.from),
    to: dayStart(query.to, 1),
  };
}

const groupKey = (g) => `${g.building_id ?? 'none'}-${g.kind}`;
const buildingName = (g) => g.building_address ?? t('alerts.noBuilding');

function Filters({ query, setQuery, buildings }) {
  const sel = (name, label, options, all = true) => html`<label>${label}
    <select name=${name} data-testid=${`alerts-filter-${name}`} value=${query[name] ?? ''} onChange=${(e) => setQuery({ [name]: e.currentTarget.value })}>
      ${all ? html`<option value="">${t('common.all')}</option>` : null}
      ${options.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
    </select></label>`;
  return html`<form class="filters alerts-filters" onSubmit=${(e) => e.preventDefault()} aria-label=${t('alerts.filters')}>
    ${sel('building', t('alerts.building'), (buildings ?? []).map((b) => [String(b.id), b.address]))}
    ${sel('kind', t('alerts.kind'), KINDS.map((k) => [k, t(`alerts.kind.${k}`)]))}
    ${sel('severity', t('alerts.severity'), SEVERITIES.map((s) => [s, t(`severity.${s}`)]))}
    <label>${t('alerts.state')}
      <select name="state" data-testid="alerts-filter-state" value=${query.state ?? 'unacked'} onChange=${(e) => setQuery({ state: e.currentTarget.value })}>
        ${Object.keys(STATES).map((s) => html`<option value=${s}>${t(`alerts.state.${s}`)}</option>`)}
      </select></label>
    <label>${t('common.from')}<input type="date" name="from" value=${query.from ?? ''} onChange=${(e) => setQuery({ from: e.currentTarget.value })} /></label>
    <label>${t('common.to')}<input type="date" name="to" value=${query.to ?? ''} onChange=${(e) => setQuery({ to: e.currentTarget.value })} /></label>
  </form>`;
}

/** One reason for many alerts: required, sent with the button's count. */
function AckForm({ count, onAck, testid, label }) {
  const [reason, setReason] = useState('');
  const [run, state] = useAction(useCallback((r) => onAck(r), [onAck]));
  const id = `${testid}-reason`;
  return html`<form class="ack-form" data-testid=${testid} onSubmit=${(e) => { e.preventDefault(); if (reason.trim()) run(reason.trim()); }}>
    <label for=${id}>${t('alerts.reason')}</label>
    <input id=${id} name="reason" required maxlength="2000" placeholder=${t('alerts.reasonHint')} value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
    <button type="submit" class="primary" disabled=${state.busy || !count} data-testid=${`${testid}-submit`}>${label ?? t('alerts.ackCount', { count })}</button>
    <${ErrorNote} error=${state.error} testid=${`${testid}-error`} />
  </form>`;
}

function AlertItem({ a, selected, onToggle }) {
  const id = `alert-${a.id}`;
  return html`<li class="alert-item" data-testid=${id} data-kind=${a.kind}>
    ${a.acknowledged_at ? null : html`<input type="checkbox" id=${`${id}-select`} checked=${selected} onChange=${() => onToggle(a.id)}
      aria-label=${t('alerts.select')} data-testid=${`${id}-select`} />`}
    <div class="alert-body">
      <p class="alert-text" data-testid=${`${id}-text`}>${alertText(a)}</p>
      <p class="muted alert-meta">
        <${Badge} prefix="severity" code=${a.severity} />
        <span data-testid=${`${id}-raised`}> ${t('alerts.raised', { at: fmtZoned(a.raised_at, a.building_timezone) })}</span>
        ${a.cleared_at ? html`<span> · ${t('alerts.cleared', { at: fmtZoned(a.cleared_at, a.building_timezone) })}</span>` : null}
        ${a.acknowledged_at ? html`<span data-testid=${`${id}-acked`}> · ${t('alerts.ackedBy', { who: a.acknowledged_by ?? '', at: fmtZoned(a.acknowledged_at, a.building_timezone) })}</span>` : null}
      </p>
    </div>
  </li>`;
}

function GroupAlerts({ group, filter, selected, onToggle, version }) {
  const state = useLoad(() => api(`/alerts?${qs({ ...filter, building_id: group.building_id ?? undefined, kind: group.kind, limit: 1000 })}`), [groupKey(group), JSON.stringify(filter), version]);
  return html`<${Loaded} state=${state}>${(alerts) => html`<ul class="alert-list" data-testid=${`group-alerts-${groupKey(group)}`}>
    ${alerts.filter((a) => (a.building_id ?? null) === (group.building_id ?? null)).map((a) => html`<${AlertItem} key=${a.id} a=${a} selected=${selected.has(a.id)} onToggle=${onToggle} />`)}
  </ul>`}<//>`;
}

function Group({ group, filter, open, onOpen, selected, onToggle, canAck, onAcked, version }) {
  const key = groupKey(group);
  const [acking, setAcking] = useState(false);
  const ackGroup = useCallback(async (comment) => {
    const res = await api('/alerts/ack', { method: 'POST', body: { filter: { ...filter, acknowledged: undefined, building_id: group.building_id ?? undefined, kind: group.kind }, comment } });
    setAcking(false);
    onAcked(res);
  }, [filter, group]);
  return html`<li class=${`alert-group severity-line-${group.severity}`} data-testid=${`group-${key}`} data-count=${group.count}>
    <div class="group-head">
      <h2 class="group-title" data-testid=${`group-title-${key}`}>${t('alerts.groupTitle', { building: buildingName(group), kind: t(`alerts.kind.${group.kind}`), count: group.count })}</h2>
      <p class="muted group-meta">
        <${Badge} prefix="severity" code=${group.severity} />
        ${` ${t('alerts.unacked', { count: group.unacknowledged })} · ${t('alerts.lastRaised', { at: fmtZoned(group.last_raised_at, group.building_timezone), ago: fmtAgo(group.last_raised_at) })}`}
      </p>
      <div class="actions">
        <button type="button" aria-expanded=${open} data-testid=${`group-toggle-${key}`} onClick=${() => onOpen(open ? null : key)}>${open ? t('alerts.hide') : t('alerts.show')}</button>
        ${canAck && group.unacknowledged ? html`<button type="button" data-testid=${`group-ack-${key}`} aria-expanded=${acking} onClick=${() => setAcking(!acking)}>${t('alerts.ackGroup')}</button>` : null}
      </div>
    </div>
    ${acking ? html`<${AckForm} count=${group.unacknowledged} onAck=${ackGroup} testid=${`group-ack-form-${key}`} />` : null}
    ${open ? html`<${GroupAlerts} group=${group} filter=${filter} selected=${selected} onToggle=${onToggle} version=${version} />` : null}
  </li>`;
}

function AlertsScreen({ me }) {
  const [query, setQuery] = useQuery();
  const filter = filterOf(query);
  const fkey = JSON.stringify(filter);
  const [version, setVersion] = useState(0);
  const [selected, setSelected] = useState(new Set());
  const [done, setDone] = useState(null);
  const buildings = useLoad(() => api('/buildings'), []);
  const groups = useLoad(() => api(`/alerts/groups?${qs(filter)}`), [fkey, version]);
  const canAck = me?.role === 'admin' || me?.role === 'engineer';
  const toggle = useCallback((id) => setSelected((s) => { const n = new Set(s); if (n.has(id)) n.delete(id); else n.add(id); return n; }), []);
  const acked = useCallback((res) => { setDone(res); setSelected(new Set()); setVersion((v) => v + 1); }, []);
  const ackSelected = useCallback(async (comment) => acked(await api('/alerts/ack', { method: 'POST', body: { ids: [...selected], comment } })), [selected]);
  const open = query.open ?? null;
  // A new filter is a new view: the note about the last acknowledgement and the selection belong to the old one.
  useEffect(() => { setDone(null); setSelected(new Set()); }, [fkey]);
  return html`<${Page} title=${t('alerts.title')} testid="alerts-page">
    <${Filters} query=${query} setQuery=${setQuery} buildings=${buildings.data} />
    ${done ? html`<p class="note ok" role="status" data-testid="alerts-done">${t('alerts.done', { count: done.acknowledged.length })}${done.already.length ? ` ${t('alerts.already', { count: done.already.length })}` : ''}</p>` : null}
    ${canAck && selected.size ? html`<div class="card ack-selection"><${AckForm} count=${selected.size} onAck=${ackSelected} testid="selection-ack" /></div>` : null}
    <${Loaded} state=${groups}>${(list) => (list.length
      ? html`<ul class="alert-groups" data-testid="alert-groups">
          ${list.map((g) => html`<${Group} key=${groupKey(g)} group=${g} filter=${filter} open=${open === groupKey(g)} onOpen=${(k) => setQuery({ open: k }, { replace: true })}
            selected=${selected} onToggle=${toggle} canAck=${canAck} onAcked=${acked} version=${version} />`)}
        </ul>`
      : html`<p class="muted empty" data-testid="alert-groups-empty">${t('alerts.none')}</p>`)}<//>
  <//>`;
}

const ALERT_ROLES = ['admin', 'engineer', 'operator'];

export const alertsScreen = {
  id: 'alerts',
  messages: {
    ru: {
      ...textMessages.ru,
      'alerts.nav': 'Тревоги',
      'alerts.title': 'Тревоги',
      'alerts.filters': 'Отбор тревог',
      'alerts.building': 'Дом',
      'alerts.kind': 'Вид',
      'alerts.severity': 'Важность',
      'alerts.state': 'Состояние',
      'alerts.state.unacked': 'Открытые, не квитированные',
      'alerts.state.open': 'Все открытые',
      'alerts.state.acked': 'Квитированные',
      'alerts.state.cleared': 'Снятые',
      'alerts.state.all': 'Все',
      'alerts.kind.meter_silent': 'прибор молчит',
      'alerts.kind.gateway_silent': 'шлюз не на связи',
      'alerts.kind.imbalance': 'небаланс',
      'alerts.kind.policy_job': 'задание TimescaleDB',
      'alerts.kind.access_code_key': 'ключ кодов доступа',
      'alerts.kind.heat_delivery_failed': 'ведомость тепла не доставлена',
      'alerts.kind.heat_mail_failed': 'ведомость тепла не отправлена по e-mail',
      'alerts.kind.heat_statement_outdated': 'подписанная ведомость тепла устарела',
      'alerts.noBuilding': 'Без дома (шлюзы, база данных)',
      'alerts.groupTitle': '{building} — {kind}: {count}',
      'alerts.unacked_one': '{count} не квитирована',
      'alerts.unacked_few': '{count} не квитированы',
      'alerts.unacked_many': '{count} не квитировано',
      'alerts.unacked_other': '{count} не квитировано',
      'alerts.lastRaised': 'последняя {at}, {ago}',
      'alerts.show': 'Показать тревоги',
      'alerts.hide': 'Скрыть',
      'alerts.ackGroup': 'Квитировать группу',
      'alerts.reason': 'Причина (для журнала)',
      'alerts.reasonHint': 'например: отключение подстанции, бригада выехала',
      'alerts.ackCount_one': 'Квитировать {count} тревогу',
      'alerts.ackCount_few': 'Квитировать {count} тревоги',
      'alerts.ackCount_many': 'Квитировать {count} тревог',
      'alerts.ackCount_other': 'Квитировать {count} тревоги',
      'alerts.select': 'Выбрать для квитирования',
      'alerts.raised': 'возникла {at}',
      'alerts.cleared': 'снята {at}',
      'alerts.ackedBy': 'квитировал(а) {who} {at}',
      'alerts.done_one': 'Квитирована {count} тревога.',
      'alerts.done_few': 'Квитированы {count} тревоги.',
      'alerts.done_many': 'Квитировано {count} тревог.',
      'alerts.done_other': 'Квитировано {count} тревоги.',
      'alerts.already_one': '{count} уже была квитирована раньше.',
      'alerts.already_few': '{count} уже были квитированы раньше.',
      'alerts.already_many': '{count} уже были квитированы раньше.',
      'alerts.already_other': '{count} уже были квитированы раньше.',
      'alerts.none': 'Тревог по этому отбору нет.',
    },
    en: {
      ...textMessages.en,
      'alerts.nav': 'Alerts',
      'alerts.title': 'Alerts',
      'alerts.filters': 'Alert filters',
      'alerts.building': 'Building',
      'alerts.kind': 'Kind',
      'alerts.severity': 'Severity',
      'alerts.state': 'State',
      'alerts.state.unacked': 'Open, not acknowledged',
      'alerts.state.open': 'All open',
      'alerts.state.acked': 'Acknowledged',
      'alerts.state.cleared': 'Cleared',
      'alerts.state.all': 'All',
      'alerts.kind.meter_silent': 'meter silent',
      'alerts.kind.gateway_silent': 'gateway offline',
      'alerts.kind.imbalance': 'imbalance',
      'alerts.kind.policy_job': 'TimescaleDB job',
      'alerts.kind.access_code_key': 'access-code key',
      'alerts.kind.heat_delivery_failed': 'heat statement not delivered',
      'alerts.kind.heat_mail_failed': 'heat statement not mailed',
      'alerts.kind.heat_statement_outdated': 'signed heat statement outdated',
      'alerts.noBuilding': 'No building (gateways, the database)',
      'alerts.groupTitle': '{building} — {kind}: {count}',
      'alerts.unacked_one': '{count} not acknowledged',
      'alerts.unacked_other': '{count} not acknowledged',
      'alerts.lastRaised': 'latest {at}, {ago}',
      'alerts.show': 'Show alerts',
      'alerts.hide': 'Hide',
      'alerts.ackGroup': 'Acknowledge group',
      'alerts.reason': 'Reason (for the journal)',
      'alerts.reasonHint': 'e.g. substation power cut, crew sent',
      'alerts.ackCount_one': 'Acknowledge {count} alert',
      'alerts.ackCount_other': 'Acknowledge {count} alerts',
      'alerts.select': 'Select to acknowledge',
      'alerts.raised': 'raised {at}',
      'alerts.cleared': 'cleared {at}',
      'alerts.ackedBy': 'acknowledged by {who} {at}',
      'alerts.done_one': '{count} alert acknowledged.',
      'alerts.done_other': '{count} alerts acknowledged.',
      'alerts.already_one': '{count} was acknowledged before.',
      'alerts.already_other': '{count} were acknowledged before.',
      'alerts.none': 'No alerts match these filters.',
    },
  },
  routes: [{ path: '/alerts', component: AlertsScreen, roles: ALERT_ROLES }],
  nav: [{ href: '/alerts', key: 'alerts.nav', roles: ALERT_ROLES }],
};
