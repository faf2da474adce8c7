/**
 * Gateways: each one's state (online/offline), when it was last heard (relative, and in its building's
 * zone), its software version and outbox depth, and its building; a gateway's page lists the commands
 * sent to it with their state and reply, and sends a new one (the kinds the API accepts, arguments as
 * JSON). Sending and reading commands is for engineers of the gateway's building and admins (the API
 * decides; an operator sees the list only).
 */
import { html, useState, useCallback, useEffect, useLoad, useAction, useParams } from '../../../web-shared/ui.js';
import { api, ApiError } from '../../api.js';
import { t } from '../../i18n.js';
import { Badge, ErrorNote, Loaded, Page, Card } from '../../ui/components.js';
import { fmtAgo, fmtZoned } from '../../ui/time.js';

/** The commands a gateway knows (protocols COMMAND_NAMES) with a starting point for their arguments. */
const COMMANDS = {
  poll_now: {},
  get_config: {},
  scan: { bus: 'mbus0', from: 0, to: 250 },
  set_config: { config: {} },
  restart: {},
};

const fmtCount = (n) => (n == null ? t('common.none') : new Intl.NumberFormat().format(n));

function StateBadge({ g }) {
  return html`<span class=${`badge ${g.online ? 'status-ok' : 'status-high_loss'}`} data-testid=${`gateway-state-${g.id}`} data-online=${String(g.online)}>
    ${g.online ? t('gateways.online') : t('gateways.offline')}</span>`;
}

function LastSeen({ g }) {
  if (!g.last_seen_at) return html`<span class="muted">${t('gateways.never')}</span>`;
  return html`<span>${fmtAgo(g.last_seen_at)}<br /><small class="muted">${fmtZoned(g.last_seen_at, g.building_timezone)}</small></span>`;
}

/** One gateway as a card: it reads on a phone without sideways scrolling and lines up in a grid on a desk. */
function GatewayCard({ g }) {
  return html`<li class="gateway-card card" data-testid=${`gateway-${g.id}`}>
    <div class="card-head">
      <h2><a href=${`#/gateways/${encodeURIComponent(g.id)}`}>${g.id}</a>${g.name ? html` <span class="muted">${g.name}</span>` : null}</h2>
      <${StateBadge} g=${g} />
    </div>
    <dl class="facts">
      <dt>${t('gateways.building')}</dt><dd>${g.building_address ?? t('gateways.noBuilding')}</dd>
      <dt>${t('gateways.lastSeen')}</dt><dd><${LastSeen} g=${g} /></dd>
      <dt>${t('gateways.software')}</dt><dd data-testid=${`gateway-software-${g.id}`}>${g.software ?? t('common.none')}</dd>
      <dt>${t('gateways.outbox')}</dt><dd data-testid=${`gateway-outbox-${g.id}`}>${fmtCount(g.outbox_depth)}</dd>
      ${g.status !== 'active' ? html`<dt>${t('gateways.status')}</dt><dd>${t(`gateways.status.${g.status}`)}</dd>` : null}
    </dl>
  </li>`;
}

function GatewaysScreen() {
  const state = useLoad(() => api('/gateways'), []);
  return html`<${Page} title=${t('gateways.title')} testid="gateways-page">
    <${Loaded} state=${state}>${(list) => (list.length
      ? html`<p class="muted" data-testid="gateways-summary">${t('gateways.summary', { online: list.filter((g) => g.online).length, count: list.length })}</p>
        <ul class="gateway-cards" data-testid="gateways-list">${list.map((g) => html`<${GatewayCard} key=${g.id} g=${g} />`)}</ul>`
      : html`<p class="muted empty" data-testid="gateways-empty">${t('gateways.none')}</p>`)}<//>
  <//>`;
}

function SendCommand({ gatewayId, onSent }) {
  const [name, setName] = useState('poll_now');
  const [args, setArgs] = useState('{}');
  const [argsError, setArgsError] = useState('');
  const [run, state] = useAction(useCallback(async (body) => onSent(await api(`/gateways/${encodeURIComponent(gatewayId)}/commands`, { method: 'POST', body })), [gatewayId, onSent]));
  function submit(e) {
    e.preventDefault();
    let parsed;
    try {
      parsed = args.trim() ? JSON.parse(args) : {};
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    } catch {
      setArgsError(t('gateways.argsInvalid'));
      return;
    }
    setArgsError('');
    run({ name, args: parsed });
  }
  return html`<form class="send-command" data-testid="command-form" onSubmit=${submit}>
    <label>${t('gateways.command')}
      <select name="name" data-testid="command-name" value=${name} onChange=${(e) => { const n = e.currentTarget.value; setName(n); setArgs(JSON.stringify(COMMANDS[n] ?? {})); }}>
        ${Object.keys(COMMANDS).map((c) => html`<option value=${c}>${t(`gateways.cmd.${c}`)} (${c})</option>`)}
      </select></label>
    <label>${t('gateways.args')}
      <textarea name="args" rows="3" data-testid="command-args" aria-invalid=${argsError ? 'true' : null} value=${args} onInput=${(e) => setArgs(e.currentTarget.value)}></textarea>
      ${argsError ? html`<small class="error" role="alert">${argsError}</small>` : html`<small class="muted">${t('gateways.argsHint')}</small>`}
    </label>
    <button type="submit" class="primary" disabled=${state.busy} data-testid="command-send">${t('gateways.send')}</button>
    <${ErrorNote} error=${state.error} testid="command-error" />
  </form>`;
}

const short = (v) => {
  if (v == null) return '';
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
};

function CommandItem({ c, zone, gatewayId }) {
  const [open, setOpen] = useState(false);
  const detail = useLoad(() => (open ? api(`/gateways/${encodeURIComponent(gatewayId)}/commands/${encodeURIComponent(c.id)}`) : Promise.resolve(null)), [open, c.status]);
  const d = detail.data ?? c;
  return html`<li class="command-item" data-testid=${`command-${c.id}`} data-name=${c.name} data-status=${c.status}>
    <div class="command-head">
      <strong>${c.name}</strong>
      <${Badge} prefix="command" code=${c.status} testid=${`command-status-${c.id}`} />
      <span class="muted">${fmtZoned(c.sent_at, zone)} · ${c.requested_by?.name ?? ''}</span>
      <button type="button" class="small" aria-expanded=${open} onClick=${() => setOpen(!open)}>${open ? t('gateways.hideReply') : t('gateways.showReply')}</button>
    </div>
    ${c.error ? html`<p class="error">${c.error}</p>` : c.result != null ? html`<p class="muted reply-short">${short(c.result)}</p>` : null}
    ${open ? html`<dl class="facts command-detail">
      <dt>${t('gateways.args')}</dt><dd><code>${JSON.stringify(d.args)}</code></dd>
      <dt>${t('gateways.deadline')}</dt><dd>${fmtZoned(d.deadline_at, zone)}</dd>
      <dt>${t('gateways.replied')}</dt><dd>${d.replied_at ? fmtZoned(d.replied_at, zone) : t('common.none')}${d.late ? ` (${t('gateways.late')})` : ''}</dd>
      <dt>${t('gateways.reply')}</dt><dd><pre data-testid=${`command-reply-${c.id}`}>${d.error ?? (d.result == null ? t('common.none') : JSON.stringify(d.result, null, 2))}</pre></dd>
    </dl>` : null}
  </li>`;
}

function Commands({ gatewayId, zone }) {
  const [version, setVersion] = useState(0);
  const list = useLoad(() => api(`/gateways/${encodeURIComponent(gatewayId)}/commands?limit=50`), [gatewayId, version]);
  const waiting = list.data?.some((c) => c.status === 'sent');
  // While a command waits for its reply the list is read again every 2 s (a reply usually comes in seconds).
  useEffect(() => {
    if (!waiting) return undefined;
    const timer = setTimeout(() => setVersion((v) => v + 1), 2000);
    return () => clearTimeout(timer);
  }, [waiting, list.data]);
  const sent = useCallback(() => setVersion((v) => v + 1), []);
  if (list.error instanceof ApiError && list.error.status === 403) return html`<p class="muted">${t('gateways.noCommandRight')}</p>`;
  return html`<${Card} title=${t('gateways.commands')} testid="commands-card">
    <${SendCommand} gatewayId=${gatewayId} onSent=${sent} />
    <${Loaded} state=${list}>${(rows) => (rows.length
      ? html`<ul class="command-list" data-testid="command-list">${rows.map((c) => html`<${CommandItem} key=${c.id} c=${c} zone=${zone} gatewayId=${gatewayId} />`)}</ul>`
      : html`<p class="muted empty" data-testid="command-list-empty">${t('gateways.noCommands')}</p>`)}<//>
  <//>`;
}

function GatewayScreen({ me }) {
  const { id } = useParams();
  const state = useLoad(async () => {
    const one = await api(`/gateways/${encodeURIComponent(id)}`);
    // The list carries the building's address and zone, software and outbox; the single route the raw status.
    const listed = (await api(`/gateways?${one.building_id ? `building_id=${one.building_id}` : ''}`)).find((g) => g.id === id);
    return { ...one, ...listed };
  }, [id]);
  const mayCommand = me?.role === 'admin' || me?.role === 'engineer';
  return html`<${Page} title=${t('gateways.one', { id })} testid="gateway-page">
    <p><a href="#/gateways">${t('gateways.back')}</a></p>
    <${Loaded} state=${state}>${(g) => html`
      <ul class="gateway-cards single"><${GatewayCard} g=${g} /></ul>
      ${mayCommand ? html`<${Commands} gatewayId=${id} zone=${g.building_timezone} />` : null}`}<//>
  <//>`;
}

const ROLES = ['admin', 'engineer', 'operator'];

export const gatewaysScreen = {
  id: 'gateways',
  messages: {
    ru: {
      'gateways.nav': 'Шлюзы',
      'gateways.title': 'Шлюзы',
      'gateways.one': 'Шлюз {id}',
      'gateways.back': '← Все шлюзы',
      'gateways.summary': 'На связи {online} из {count}',
      'gateways.none': 'Шлюзов пока нет.',
      'gateways.online': 'на связи',
      'gateways.offline': 'нет связи',
      'gateways.never': 'ни разу не выходил на связь',
      'gateways.building': 'Дом',
      'gateways.noBuilding': 'не привязан к дому',
      'gateways.lastSeen': 'Последний сеанс',
      'gateways.software': 'Версия ПО',
      'gateways.outbox': 'Очередь отправки',
      'gateways.status': 'Состояние',
      'gateways.status.disabled': 'отключён',
      'gateways.status.active': 'в работе',
      'gateways.commands': 'Команды',
      'gateways.command': 'Команда',
      'gateways.cmd.poll_now': 'Опросить сейчас',
      'gateways.cmd.get_config': 'Прочитать настройки',
      'gateways.cmd.scan': 'Поиск приборов на шине',
      'gateways.cmd.set_config': 'Записать настройки',
      'gateways.cmd.restart': 'Перезапуск',
      'gateways.args': 'Параметры (JSON)',
      'gateways.argsHint': 'Объект JSON, например {"meters": ["12345678"]}; пустой объект {} — без параметров.',
      'gateways.argsInvalid': 'Параметры должны быть объектом JSON в фигурных скобках, например {} или {"bus": "mbus0"}.',
      'gateways.send': 'Отправить команду',
      'gateways.noCommands': 'Команд этому шлюзу ещё не отправляли.',
      'gateways.noCommandRight': 'Команды шлюзу могут отправлять инженеры его дома и администраторы.',
      'gateways.showReply': 'Подробнее',
      'gateways.hideReply': 'Свернуть',
      'gateways.deadline': 'Ждём ответа до',
      'gateways.replied': 'Ответ получен',
      'gateways.late': 'после срока',
      'gateways.reply': 'Ответ',
      'command.sent': 'ждёт ответа',
      'command.ok': 'выполнена',
      'command.error': 'ошибка',
      'command.timed_out': 'нет ответа',
    },
    en: {
      'gateways.nav': 'Gateways',
      'gateways.title': 'Gateways',
      'gateways.one': 'Gateway {id}',
      'gateways.back': '← All gateways',
      'gateways.summary': '{online} of {count} online',
      'gateways.none': 'No gateways yet.',
      'gateways.online': 'online',
      'gateways.offline': 'offline',
      'gateways.never': 'never connected',
      'gateways.building': 'Building',
      'gateways.noBuilding': 'no building',
      'gateways.lastSeen': 'Last seen',
      'gateways.software': 'Software',
      'gateways.outbox': 'Outbox depth',
      'gateways.status': 'Status',
      'gateways.status.disabled': 'disabled',
      'gateways.status.active': 'active',
      'gateways.commands': 'Commands',
      'gateways.command': 'Command',
      'gateways.cmd.poll_now': 'Poll now',
      'gateways.cmd.get_config': 'Read settings',
      'gateways.cmd.scan': 'Scan a bus for meters',
      'gateways.cmd.set_config': 'Write settings',
      'gateways.cmd.restart': 'Restart',
      'gateways.args': 'Arguments (JSON)',
      'gateways.argsHint': 'A JSON object, e.g. {"meters": ["12345678"]}; an empty {} for none.',
      'gateways.argsInvalid': 'Arguments must be a JSON object in braces, e.g. {} or {"bus": "mbus0"}.',
      'gateways.send': 'Send command',
      'gateways.noCommands': 'No command has been sent to this gateway yet.',
      'gateways.noCommandRight': 'Commands are for the engineers of the gateway\'s building and admins.',
      'gateways.showReply': 'Details',
      'gateways.hideReply': 'Collapse',
      'gateways.deadline': 'Reply expected by',
      'gateways.replied': 'Replied',
      'gateways.late': 'late',
      'gateways.reply': 'Reply',
      'command.sent': 'waiting for reply',
      'command.ok': 'done',
      'command.error': 'error',
      'command.timed_out': 'no reply',
    },
  },
  routes: [
    { path: '/gateways/:id', component: GatewayScreen, roles: ROLES },
    { path: '/gateways', component: GatewaysScreen, roles: ROLES },
  ],
  nav: [{ href: '/gateways', key: 'gateways.nav', roles: ROLES }],
};
