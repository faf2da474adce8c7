/**
 * Обмен / Exchange: the scheduled XML exchanges of an organisation (where: a folder or an
 * FTP/FTPS/SFTP server; when: cron; what: readings in or out), "run now", and the log of runs with
 * their counts and errors. Passwords and keys are write-only: the list shows only whether one is set.
 */
/* global FormData */
import { html, useAction, useLoad, useParams, useState } from '../../../web-shared/ui.js';
import { api, qs } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { Card, DataTable, ErrorNote, Field, Loaded, Page } from '../../ui/components.js';
import { fmtDateTime } from '../../format.js';

const ROLES = ['admin', 'billing', 'engineer'];
const TZ = 'Europe/Moscow';

function ExchangeScreen() {
  const [gen, setGen] = useState(0);
  const [editing, setEditing] = useState(null);
  const orgs = useLoad(() => api('/organisations'), []);
  const buildings = useLoad(() => api('/buildings?limit=5000'), []);
  const configs = useLoad(() => api('/exchange/configs'), [gen]);
  const runs = useLoad(() => api(`/exchange/runs?${qs({ limit: 50 })}`), [gen]);
  const changed = () => { setEditing(null); setGen((g) => g + 1); };
  const [run, running] = useAction(async (id) => { const r = await api(`/exchange/configs/${id}/run`, { method: 'POST' }); changed(); return r; });
  const address = (id) => (id == null ? t('exchange.wholeOrg') : (buildings.data ?? []).find((b) => b.id === id)?.address ?? `#${id}`);
  return html`<${Page} title=${t('exchange.title')} testid="exchange-page">
    <${Card} title=${t('exchange.configs')} testid="exchange-configs">
      <${Loaded} state=${configs}>${(list) => html`<${DataTable} testid="exchange-configs-table" caption=${t('exchange.configs')} rows=${list}
        rowTestid=${(c) => `config-${c.id}`} empty=${t('exchange.configs.empty')} columns=${[
          { key: 'direction', label: t('exchange.direction'), render: (c) => tc('exchange.direction', c.direction) },
          { key: 'building_id', label: t('exchange.building'), render: (c) => address(c.building_id) },
          { key: 'location', label: t('exchange.location'), render: (c) => html`<span class="wrap-any">${c.location}</span>` },
          { key: 'cron', label: t('exchange.cron'), render: (c) => html`<code>${c.cron}</code>` },
          { key: 'enabled', label: t('exchange.enabled'), render: (c) => html`<span class=${`badge exchange-${c.enabled ? 'on' : 'off'}`}>${t(c.enabled ? 'exchange.on' : 'exchange.off')}</span>` },
          { key: 'id', label: t('exchange.actions'), render: (c) => html`<div class="actions">
            <button type="button" class="small primary" data-testid=${`run-${c.id}`} disabled=${running.busy}
              aria-label=${t('exchange.runNamed', { id: c.id })} onClick=${() => run(c.id)}>${t('exchange.run')}</button>
            <button type="button" class="small" data-testid=${`edit-${c.id}`} aria-label=${t('exchange.editNamed', { id: c.id })}
              onClick=${() => setEditing(c)}>${t('exchange.edit')}</button></div>` },
        ]} />`}<//>
      ${running.result ? html`<p class="note ok" role="status" data-testid="exchange-ran">${running.result.job_id
        ? t('exchange.queued') : t('exchange.ran', { status: tc('exchange.status', running.result.status) })}</p>` : null}
      <${ErrorNote} error=${running.error} />
    <//>
    <${Card} title=${editing ? t('exchange.editTitle', { id: editing.id }) : t('exchange.create')} testid="exchange-form-card">
      <${ConfigForm} key=${editing?.id ?? 'new'} config=${editing} orgs=${orgs.data ?? []} buildings=${buildings.data ?? []} onSaved=${changed} onCancel=${() => setEditing(null)} />
    <//>
    <${Card} title=${t('exchange.runs')} testid="exchange-runs">
      <${Loaded} state=${runs}>${(list) => html`<${DataTable} testid="exchange-runs-table" caption=${t('exchange.runs')} rows=${list}
        rowTestid=${(r) => `run-row-${r.id}`} empty=${t('exchange.runs.empty')} columns=${runColumns()} />`}<//>
    <//>
  <//>`;
}

function countsText(counts) {
  const e = Object.entries(counts ?? {});
  return e.length ? e.map(([k, v]) => `${tc('exchange.count', k)}: ${v}`).join(', ') : t('common.none');
}

const runColumns = () => [
  { key: 'id', label: t('exchange.run.id'), render: (r) => html`<a href=${`#/exchange/runs/${r.id}`}>${t('exchange.run.n', { id: r.id })}</a>` },
  { key: 'config_id', label: t('exchange.run.config'), render: (r) => `#${r.config_id}` },
  { key: 'status', label: t('exchange.run.status'), render: (r) => html`<span class=${`badge exchange-${r.status}`} data-code=${r.status}>${tc('exchange.status', r.status)}</span>` },
  { key: 'counts', label: t('exchange.run.counts'), render: (r) => html`<span data-testid=${`run-counts-${r.id}`}>${countsText(r.counts)}</span>` },
  { key: 'message', label: t('exchange.run.message'), render: (r) => html`<span class="wrap-any">${r.message ?? t('common.none')}</span>` },
  { key: 'started_at', label: t('exchange.run.started'), render: (r) => fmtDateTime(r.started_at, TZ) },
  { key: 'finished_at', label: t('exchange.run.finished'), render: (r) => fmtDateTime(r.finished_at, TZ) },
];

function ExchangeRun() {
  const { id } = useParams();
  const run = useLoad(() => api(`/exchange/runs/${Number(id)}`), [id]);
  return html`<${Page} title=${t('exchange.run.n', { id })} testid="exchange-run">
    <p><a href="#/exchange">${t('exchange.back')}</a></p>
    <${Loaded} state=${run}>${(r) => html`<${Card}>
      <dl class="facts">
        <dt>${t('exchange.run.status')}</dt><dd><span class=${`badge exchange-${r.status}`} data-testid="run-status">${tc('exchange.status', r.status)}</span></dd>
        <dt>${t('exchange.run.counts')}</dt><dd data-testid="run-counts">${countsText(r.counts)}</dd>
        <dt>${t('exchange.run.message')}</dt><dd class="wrap-any" data-testid="run-message">${r.message ?? t('common.none')}</dd>
        <dt>${t('exchange.run.started')}</dt><dd>${fmtDateTime(r.started_at, TZ)}</dd>
        <dt>${t('exchange.run.finished')}</dt><dd>${fmtDateTime(r.finished_at, TZ)}</dd>
      </dl>
    <//>`}<//>
  <//>`;
}

function ConfigForm({ config, orgs, buildings, onSaved, onCancel }) {
  const [transport, setTransport] = useState(config?.transport ?? 'folder');
  const [orgId, setOrgId] = useState(config?.org_id ?? '');
  const org = Number(orgId || orgs[0]?.id);
  const [save, saving] = useAction(async (f) => {
    const text = (k) => { const v = String(f.get(k) ?? '').trim(); return v === '' ? null : v; };
    const body = {
      building_id: text('building_id') === null ? null : Number(text('building_id')), folder: text('folder'), cron: text('cron'),
      period_days: Number(text('period_days') ?? 1), email_to: text('email_to'), enabled: f.get('enabled') === 'on', transport,
      ...(transport === 'folder' ? {} : { host: text('host'), port: text('port') === null ? null : Number(text('port')), username: text('username'), host_key_sha256: text('host_key_sha256') }),
    };
    // A secret left empty is kept as it is (write-only: never shown, only replaced).
    if (transport !== 'folder' && text('password')) body.password = text('password');
    const r = config
      ? await api(`/exchange/configs/${config.id}`, { method: 'PATCH', body })
      : await api('/exchange/configs', { method: 'POST', body: { ...body, org_id: org, direction: f.get('direction') } });
    onSaved();
    return r;
  });
  const orgBuildings = buildings.filter((b) => b.org_id === (config?.org_id ?? org));
  return html`<form class="inline-form" data-testid="exchange-form" onSubmit=${(e) => { e.preventDefault(); save(new FormData(e.currentTarget)); }}>
    <div class="form-row">
      ${config ? null : html`
        ${orgs.length > 1 ? html`<${Field} label=${t('exchange.org')}><select name="org_id" value=${orgId} onChange=${(e) => setOrgId(e.currentTarget.value)}>
          ${orgs.map((o) => html`<option value=${o.id}>${o.name}</option>`)}</select><//>` : null}
        <${Field} label=${t('exchange.direction')}><select name="direction" data-testid="exchange-direction">
          <option value="import">${tc('exchange.direction', 'import')}</option><option value="export">${tc('exchange.direction', 'export')}</option>
          <option value="heat_statements">${tc('exchange.direction', 'heat_statements')}</option></select><//>`}
      <${Field} label=${t('exchange.building')}><select name="building_id" data-testid="exchange-building" value=${config?.building_id ?? orgBuildings[0]?.id ?? ''}>
        <option value="">${t('exchange.wholeOrg')}</option>
        ${orgBuildings.map((b) => html`<option value=${b.id}>${b.address}</option>`)}</select><//>
      <${Field} label=${t('exchange.transport')}><select name="transport" value=${transport} onChange=${(e) => setTransport(e.currentTarget.value)}>
        ${['folder', 'ftp', 'ftps', 'sftp'].map((x) => html`<option value=${x}>${tc('exchange.transport', x)}</option>`)}</select><//>
      <${Field} label=${t('exchange.folder')} hint=${transport === 'folder' ? t('exchange.folderHint') : null}>
        <input name="folder" data-testid="exchange-folder" required value=${config?.folder ?? ''} /><//>
      ${transport === 'folder' ? null : html`
        <${Field} label=${t('exchange.host')}><input name="host" value=${config?.host ?? ''} /><//>
        <${Field} label=${t('exchange.port')}><input name="port" inputmode="numeric" value=${config?.port ?? ''} /><//>
        <${Field} label=${t('exchange.username')}><input name="username" autocomplete="off" value=${config?.username ?? ''} /><//>
        <${Field} label=${t('exchange.password')} hint=${config?.has_secret ? t('exchange.secretKept') : null}><input name="password" type="password" autocomplete="new-password" /><//>
        ${transport === 'sftp' ? html`<${Field} label=${t('exchange.hostKey')}><input name="host_key_sha256" value=${config?.host_key_sha256 ?? ''} /><//>` : null}`}
      <${Field} label=${t('exchange.cron')} hint=${t('exchange.cronHint')}><input name="cron" data-testid="exchange-cron" required value=${config?.cron ?? '0 3 * * *'} /><//>
      <${Field} label=${t('exchange.periodDays')}><input name="period_days" type="number" min="1" max="366" value=${config?.period_days ?? 1} /><//>
      <${Field} label=${t('exchange.email')}><input name="email_to" type="email" value=${config?.email_to ?? ''} /><//>
      <label class="check"><input type="checkbox" name="enabled" checked=${config ? config.enabled : true} /> ${t('exchange.enabled')}</label>
    </div>
    <div class="actions">
      <button type="submit" class="primary" data-testid="exchange-save" disabled=${saving.busy}>${t(config ? 'exchange.saveChanges' : 'exchange.saveNew')}</button>
      ${config ? html`<button type="button" onClick=${onCancel}>${t('exchange.cancel')}</button>` : null}
    </div>
    ${saving.result ? html`<p class="note ok" role="status" data-testid="exchange-saved">${t('exchange.saved')}</p>` : null}
    <${ErrorNote} error=${saving.error} testid="exchange-error" />
  </form>`;
}

const ru = {
  'nav.exchange': 'Обмен',
  'exchange.title': 'Обмен с управляющими организациями',
  'exchange.configs': 'Настройки обмена',
  'exchange.configs.empty': 'Обмен ещё не настроен',
  'exchange.direction': 'Направление',
  'exchange.direction.import': 'загрузка показаний',
  'exchange.direction.export': 'выгрузка показаний',
  'exchange.direction.heat_statements': 'подписанные ведомости учёта тепла (PDF, XLSX)',
  'exchange.building': 'Дом',
  'exchange.wholeOrg': 'вся организация',
  'exchange.org': 'Организация',
  'exchange.location': 'Где файлы',
  'exchange.cron': 'Расписание (cron)',
  'exchange.cronHint': 'например «0 3 * * *» — каждый день в 03:00',
  'exchange.enabled': 'Включён',
  'exchange.on': 'включён',
  'exchange.off': 'выключен',
  'exchange.actions': 'Действия',
  'exchange.run': 'Запустить',
  'exchange.runNamed': 'Запустить: обмен №{id}',
  'exchange.edit': 'Изменить',
  'exchange.editNamed': 'Изменить: обмен №{id}',
  'exchange.queued': 'Обмен поставлен в очередь; результат появится в журнале.',
  'exchange.ran': 'Обмен выполнен: {status}.',
  'exchange.create': 'Новый обмен',
  'exchange.editTitle': 'Обмен №{id}',
  'exchange.transport': 'Способ',
  'exchange.transport.folder': 'папка на сервере',
  'exchange.transport.ftp': 'FTP',
  'exchange.transport.ftps': 'FTPS',
  'exchange.transport.sftp': 'SFTP',
  'exchange.folder': 'Папка',
  'exchange.folderHint': 'относительная — внутри папки организации',
  'exchange.host': 'Сервер',
  'exchange.port': 'Порт',
  'exchange.username': 'Пользователь',
  'exchange.password': 'Пароль',
  'exchange.secretKept': 'задан; оставьте пустым, чтобы не менять',
  'exchange.hostKey': 'Отпечаток ключа сервера (SHA256:…)',
  'exchange.periodDays': 'За сколько дней выгружать',
  'exchange.email': 'Отчёт на e-mail',
  'exchange.saveNew': 'Создать',
  'exchange.saveChanges': 'Сохранить',
  'exchange.cancel': 'Отмена',
  'exchange.saved': 'Сохранено',
  'exchange.runs': 'Журнал обмена',
  'exchange.runs.empty': 'Запусков ещё не было',
  'exchange.run.id': 'Запуск',
  'exchange.run.n': 'Запуск №{id}',
  'exchange.run.config': 'Обмен',
  'exchange.run.status': 'Состояние',
  'exchange.run.counts': 'Строк и файлов',
  'exchange.run.message': 'Сообщение',
  'exchange.run.started': 'Начат',
  'exchange.run.finished': 'Завершён',
  'exchange.status.running': 'выполняется',
  'exchange.status.ok': 'успешно',
  'exchange.status.failed': 'ошибка',
  'exchange.count.files': 'файлов',
  'exchange.count.files_ok': 'файлов принято',
  'exchange.count.files_failed': 'файлов с ошибками',
  'exchange.count.inserted': 'показаний загружено',
  'exchange.count.unchanged': 'без изменений',
  'exchange.count.readings': 'показаний выгружено',
  'exchange.back': '← К обмену',
};

const en = {
  'nav.exchange': 'Exchange',
  'exchange.title': 'Exchange with managing organisations',
  'exchange.configs': 'Exchange settings',
  'exchange.configs.empty': 'No exchange set up yet',
  'exchange.direction': 'Direction',
  'exchange.direction.import': 'readings in',
  'exchange.direction.export': 'readings out',
  'exchange.direction.heat_statements': 'signed heat statements (PDF, XLSX)',
  'exchange.building': 'Building',
  'exchange.wholeOrg': 'whole organisation',
  'exchange.org': 'Organisation',
  'exchange.location': 'Where the files are',
  'exchange.cron': 'Schedule (cron)',
  'exchange.cronHint': 'e.g. "0 3 * * *": every day at 03:00',
  'exchange.enabled': 'Enabled',
  'exchange.on': 'on',
  'exchange.off': 'off',
  'exchange.actions': 'Actions',
  'exchange.run': 'Run now',
  'exchange.runNamed': 'Run now: exchange {id}',
  'exchange.edit': 'Edit',
  'exchange.editNamed': 'Edit: exchange {id}',
  'exchange.queued': 'The exchange is queued; its result will show in the log.',
  'exchange.ran': 'Exchange run: {status}.',
  'exchange.create': 'New exchange',
  'exchange.editTitle': 'Exchange {id}',
  'exchange.transport': 'Transport',
  'exchange.transport.folder': 'folder on the server',
  'exchange.transport.ftp': 'FTP',
  'exchange.transport.ftps': 'FTPS',
  'exchange.transport.sftp': 'SFTP',
  'exchange.folder': 'Folder',
  'exchange.folderHint': 'a relative one is inside the organisation\'s folder',
  'exchange.host': 'Server',
  'exchange.port': 'Port',
  'exchange.username': 'User',
  'exchange.password': 'Password',
  'exchange.secretKept': 'set; leave empty to keep it',
  'exchange.hostKey': 'Server key fingerprint (SHA256:…)',
  'exchange.periodDays': 'Days to export',
  'exchange.email': 'Report to e-mail',
  'exchange.saveNew': 'Create',
  'exchange.saveChanges': 'Save',
  'exchange.cancel': 'Cancel',
  'exchange.saved': 'Saved',
  'exchange.runs': 'Exchange log',
  'exchange.runs.empty': 'No runs yet',
  'exchange.run.id': 'Run',
  'exchange.run.n': 'Run {id}',
  'exchange.run.config': 'Exchange',
  'exchange.run.status': 'Status',
  'exchange.run.counts': 'Rows and files',
  'exchange.run.message': 'Message',
  'exchange.run.started': 'Started',
  'exchange.run.finished': 'Finished',
  'exchange.status.running': 'running',
  'exchange.status.ok': 'ok',
  'exchange.status.failed': 'failed',
  'exchange.count.files': 'files',
  'exchange.count.files_ok': 'files applied',
  'exchange.count.files_failed': 'files failed',
  'exchange.count.inserted': 'readings inserted',
  'exchange.count.unchanged': 'unchanged',
  'exchange.count.readings': 'readings written',
  'exchange.back': '← To the exchange',
};

export const exchangeScreen = {
  id: 'exchange',
  messages: { ru, en },
  routes: [
    { path: '/exchange', component: ExchangeScreen, roles: ROLES },
    { path: '/exchange/runs/:id', component: ExchangeRun, roles: ROLES },
  ],
  nav: [{ href: '/exchange', key: 'nav.exchange', roles: ROLES }],
};
