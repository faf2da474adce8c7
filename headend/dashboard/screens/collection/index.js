/**
 * Reading collection of a building (#/collection?building=<id>): the collection window (days of the
 * month residents may submit, e.g. 15–25) and its rules, per resource or for all; the residents'
 * reminders and staff digest settings; "send now"; and the log of what was sent.
 * The most specific row applies (the building's, else its organisation's / the defaults): the forms
 * start from the row that applies now and save the building's own row.
 * API: GET/PUT /collection-settings, GET/PUT /notification-settings, GET /notifications,
 * POST /notifications/run/:job.
 */
import { html, useState, useCallback, useLoad, useAction, useFormFrom } from '../../../web-shared/ui.js';
import { api, qs } from '../../api.js';
import { t, locale } from '../../i18n.js';
import { Page, Card, DataTable, ErrorNote, Loaded, Field } from '../../ui/components.js';
import { useChosenBuilding, BuildingSelect, dateTimeIn } from '../../ui/building-select.js';

const ROLES = ['admin', 'engineer'];
const RESOURCES = ['cold_water', 'hot_water', 'heat', 'electricity', 'gas', 'wastewater'];

/** The row that applies to (building, resource): the building's for that resource, for all, then the defaults'. */
function applying(rows, buildingId, resource) {
  const rank = (r) => (r.building_id === buildingId ? 0 : 2) + (r.resource === resource ? 0 : 1);
  return rows.filter((r) => (r.building_id === buildingId || r.building_id === null) && (r.resource === resource || r.resource === null))
    .sort((a, b) => rank(a) - rank(b))[0] ?? null;
}

/** "15, 25" → [15, 25]; null when something is not a day of the month. */
function parseDays(text) {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const days = parts.map(Number);
  return days.every((d) => Number.isInteger(d) && d >= 1 && d <= 31) ? [...new Set(days)].sort((a, b) => a - b) : null;
}

function WindowCard({ building }) {
  const [resource, setResource] = useState('');
  const [version, setVersion] = useState(0);
  const state = useLoad(() => api(`/collection-settings?${qs({ building_id: building.id })}`), [building.id, version]);
  const toForm = (r) => r && { ...r, reminder_days: r.reminder_days.join(', '), own: r.building_id === building.id && r.resource === (resource || null) };
  const [form, setForm] = useFormFrom(state.data, resource, (data) => toForm(applying(data.items, building.id, resource || null)));
  const [daysError, setDaysError] = useState(null);
  const [save, saving] = useAction(useCallback(async (f) => {
    const body = {
      building_id: building.id, resource: resource || null, enabled: f.enabled, window_start_day: Number(f.window_start_day), window_end_day: Number(f.window_end_day),
      integer_only: f.integer_only, accept_expired_verification: f.accept_expired_verification, reminder_days: parseDays(f.reminder_days), warn_factor: Number(f.warn_factor),
    };
    const saved = await api('/collection-settings', { method: 'PUT', body });
    setForm(toForm(saved)); // the saved row is what applies now; the reload only refreshes the list
    setVersion((v) => v + 1);
    return saved;
  }, [building.id, resource]));
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    if (parseDays(form.reminder_days) === null) { setDaysError(t('collection.daysInvalid')); return; }
    setDaysError(null);
    save(form);
  };
  return html`<${Card} title=${t('collection.window.title')} testid="collection-window">
    <p class="muted">${t('collection.window.hint')}</p>
    <${Field} label=${t('collection.resource')}>
      <select data-testid="collection-resource" value=${resource} onChange=${(e) => setResource(e.currentTarget.value)}>
        <option value="">${t('collection.allResources')}</option>
        ${RESOURCES.map((r) => html`<option value=${r}>${t(`resource.${r}`)}</option>`)}
      </select>
    <//>
    <${Loaded} state=${state}>${() => (form ? html`<form class="settings-form" data-testid="collection-window-form" onSubmit=${submit}>
      <p class="muted" data-testid="collection-window-source">${form.own ? t('collection.ownRow') : t('collection.inherited')}</p>
      <div class="days">
        <${Field} label=${t('collection.window.start')}><input type="number" min="1" max="31" required name="window_start_day" data-testid="window-start" value=${form.window_start_day} onInput=${set('window_start_day')} /><//>
        <${Field} label=${t('collection.window.end')}><input type="number" min="1" max="31" required name="window_end_day" data-testid="window-end" value=${form.window_end_day} onInput=${set('window_end_day')} /><//>
      </div>
      <label class="check"><input type="checkbox" data-testid="window-enabled" checked=${form.enabled} onChange=${set('enabled')} /> ${t('collection.enabled')}</label>
      <label class="check"><input type="checkbox" checked=${form.integer_only} onChange=${set('integer_only')} /> ${t('collection.integerOnly')}</label>
      <label class="check"><input type="checkbox" checked=${form.accept_expired_verification} onChange=${set('accept_expired_verification')} /> ${t('collection.acceptExpired')}</label>
      <${Field} label=${t('collection.reminderDays')} hint=${t('collection.reminderDaysHint')} error=${daysError}>
        <input type="text" inputmode="numeric" data-testid="window-reminder-days" value=${form.reminder_days} onInput=${set('reminder_days')} aria-invalid=${daysError ? 'true' : null} />
      <//>
      <${Field} label=${t('collection.warnFactor')} hint=${t('collection.warnFactorHint')}>
        <input type="number" min="1.1" max="100" step="0.1" required value=${form.warn_factor} onInput=${set('warn_factor')} />
      <//>
      <div class="actions"><button type="submit" class="primary" data-testid="window-save" disabled=${saving.busy}>${t('collection.save')}</button></div>
      ${saving.result ? html`<p class="note ok" role="status" data-testid="window-saved">${t('collection.window.saved', { start: saving.result.window_start_day, end: saving.result.window_end_day })}</p>` : null}
      <${ErrorNote} error=${saving.error} testid="window-error" />
    </form>` : null)}<//>
  <//>`;
}

function RemindersCard({ building }) {
  const [version, setVersion] = useState(0);
  const state = useLoad(() => api(`/notification-settings?${qs({ building_id: building.id })}`), [building.id, version]);
  const toForm = (r) => r && { ...r, webhook_url: r.webhook_url ?? '', own: r.building_id === building.id };
  const [form, setForm] = useFormFrom(state.data, building.id, ({ items: rows }) => toForm(
    rows.find((x) => x.building_id === building.id) ?? rows.find((x) => x.org_id === building.org_id && x.building_id === null) ?? rows.find((x) => x.org_id === null && x.building_id === null)));
  const [save, saving] = useAction(useCallback(async (f) => {
    const body = {
      building_id: building.id, enabled: f.enabled, staff_digest: f.staff_digest, resident_reminders: f.resident_reminders,
      verification_days_before: Number(f.verification_days_before), reminder_hour: Number(f.reminder_hour), digest_minutes: Number(f.digest_minutes),
      webhook_url: f.webhook_url.trim() || null,
    };
    const saved = await api('/notification-settings', { method: 'PUT', body });
    setForm(toForm(saved));
    setVersion((v) => v + 1);
    return saved;
  }, [building.id]));
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });
  return html`<${Card} title=${t('collection.reminders.title')} testid="collection-reminders">
    <${Loaded} state=${state}>${() => (form ? html`<form class="settings-form" data-testid="reminders-form" onSubmit=${(e) => { e.preventDefault(); save(form); }}>
      <p class="muted">${form.own ? t('collection.ownRow') : t('collection.inherited')}</p>
      <label class="check"><input type="checkbox" checked=${form.enabled} onChange=${set('enabled')} /> ${t('collection.reminders.enabled')}</label>
      <label class="check"><input type="checkbox" data-testid="reminders-residents" checked=${form.resident_reminders} onChange=${set('resident_reminders')} /> ${t('collection.reminders.residents')}</label>
      <label class="check"><input type="checkbox" checked=${form.staff_digest} onChange=${set('staff_digest')} /> ${t('collection.reminders.digest')}</label>
      <div class="days">
        <${Field} label=${t('collection.reminders.hour')}><input type="number" min="0" max="23" required value=${form.reminder_hour} onInput=${set('reminder_hour')} /><//>
        <${Field} label=${t('collection.reminders.verification')}><input type="number" min="0" max="365" required value=${form.verification_days_before} onInput=${set('verification_days_before')} /><//>
        <${Field} label=${t('collection.reminders.digestMinutes')}><input type="number" min="1" max="1440" required value=${form.digest_minutes} onInput=${set('digest_minutes')} /><//>
      </div>
      <${Field} label=${t('collection.reminders.webhook')} hint=${t('collection.reminders.webhookHint')}>
        <input type="url" data-testid="reminders-webhook" value=${form.webhook_url} onInput=${set('webhook_url')} placeholder="https://" />
      <//>
      <div class="actions"><button type="submit" class="primary" data-testid="reminders-save" disabled=${saving.busy}>${t('collection.save')}</button></div>
      ${saving.result ? html`<p class="note ok" role="status" data-testid="reminders-saved">${t('collection.saved')}</p>` : null}
      <${ErrorNote} error=${saving.error} testid="reminders-error" />
    </form>` : null)}<//>
  <//>`;
}

function LogCard({ building }) {
  const [version, setVersion] = useState(0);
  const state = useLoad(() => api(`/notifications?${qs({ building_id: building.id, limit: 50 })}`), [building.id, version]);
  const [run, running] = useAction(useCallback(async (job) => {
    const r = await api(`/notifications/run/${job}`, { method: 'POST' });
    // The job runs in the background: the log is read again a little later.
    setTimeout(() => setVersion((v) => v + 1), 1500);
    return r;
  }, []));
  const loc = locale();
  const columns = [
    { key: 'created_at', label: t('collection.log.when'), render: (r) => dateTimeIn(r.created_at, building.timezone, loc) },
    { key: 'kind', label: t('collection.log.kind'), render: (r) => t(`collection.kind.${r.kind}`) },
    { key: 'recipient', label: t('collection.log.recipient'), render: (r) => html`<span class="recipient">${r.recipient}</span>` },
    { key: 'subject', label: t('collection.log.subject') },
    { key: 'status', label: t('collection.log.status'), render: (r) => html`<span class=${`badge notify-${r.status}`} data-code=${r.status}>${t(`collection.status.${r.status}`)}</span>${r.last_error ? html` <small class="muted">${r.last_error}</small>` : null}` },
  ];
  return html`<${Card} title=${t('collection.log.title')} testid="collection-log"
      actions=${html`<button type="button" data-testid="log-reload" onClick=${() => setVersion((v) => v + 1)}>${t('collection.log.reload')}</button>`}>
    <div class="actions send-now">
      <button type="button" data-testid="run-reminders" disabled=${running.busy} onClick=${() => run('reminders')}>${t('collection.run.reminders')}</button>
      <button type="button" data-testid="run-digest" disabled=${running.busy} onClick=${() => run('digest')}>${t('collection.run.digest')}</button>
    </div>
    ${running.result ? html`<p class="note ok" role="status" data-testid="run-queued">${t('collection.run.queued')}</p>` : null}
    <${ErrorNote} error=${running.error} testid="run-error" />
    <${Loaded} state=${state}>${(data) => html`<${DataTable} columns=${columns} rows=${data.items} testid="notification-log"
      rowTestid=${(r) => `notification-${r.id}`} caption=${t('collection.log.title')} empty=${t('collection.log.empty')} />`}<//>
  <//>`;
}

function CollectionScreen() {
  const { state, buildings, building, setBuilding } = useChosenBuilding();
  return html`<${Page} title=${t('collection.title')} testid="collection-page">
    <div class="collection-page">
      <${Loaded} state=${state}>${() => (buildings.length === 0
        ? html`<p class="muted empty">${t('collection.noBuildings')}</p>`
        : html`<${BuildingSelect} buildings=${buildings} value=${building?.id} onChange=${setBuilding} label=${t('collection.building')} />
          ${building ? html`<div class="collection-grid" key=${building.id}>
            <${WindowCard} building=${building} />
            <${RemindersCard} building=${building} />
          </div>
          <${LogCard} building=${building} key=${`log-${building.id}`} />` : null}`)}<//>
    </div>
  <//>`;
}

export const collectionScreen = {
  id: 'collection',
  messages: {
    ru: {
      'nav.collection': 'Сбор показаний',
      'collection.title': 'Сбор показаний и напоминания',
      'collection.building': 'Дом',
      'collection.noBuildings': 'Нет домов, к которым у вас есть доступ.',
      'collection.resource': 'Ресурс',
      'collection.allResources': 'Все ресурсы',
      'collection.ownRow': 'Настройки этого дома.',
      'collection.inherited': 'Сейчас действуют общие настройки; сохранение создаст настройки этого дома.',
      'collection.window.title': 'Период приёма показаний',
      'collection.window.hint': 'Дни месяца, в которые жильцы передают показания (например, с 15 по 25). Вне периода ввод возможен только сотрудникам с особым правом.',
      'collection.window.start': 'С числа',
      'collection.window.end': 'По число',
      'collection.window.saved': 'Сохранено: приём с {start} по {end} число.',
      'collection.enabled': 'Приём показаний включён',
      'collection.integerOnly': 'Только целые значения',
      'collection.acceptExpired': 'Принимать показания счётчиков с истёкшей поверкой',
      'collection.reminderDays': 'Дни напоминаний жильцам',
      'collection.reminderDaysHint': 'Числа месяца через запятую, например 15, 25 (первый и последний день периода).',
      'collection.daysInvalid': 'Укажите числа от 1 до 31 через запятую.',
      'collection.warnFactor': 'Предупреждать, если расход больше среднего в',
      'collection.warnFactorHint': 'раз (среднее за 3 последних месяца)',
      'collection.save': 'Сохранить',
      'collection.saved': 'Сохранено.',
      'collection.reminders.title': 'Напоминания и уведомления',
      'collection.reminders.enabled': 'Уведомления включены',
      'collection.reminders.residents': 'Напоминать жильцам (e-mail) о периоде приёма и поверке',
      'collection.reminders.digest': 'Сообщать сотрудникам о переданных показаниях',
      'collection.reminders.hour': 'Час отправки напоминаний',
      'collection.reminders.verification': 'За сколько дней предупреждать о поверке',
      'collection.reminders.digestMinutes': 'Сводка сотрудникам не чаще, мин',
      'collection.reminders.webhook': 'Webhook (push/SMS-шлюз)',
      'collection.reminders.webhookHint': 'Необязательно. Пароль в адресе скрыт; сохранение скрытого адреса оставляет прежний.',
      'collection.log.title': 'Журнал уведомлений',
      'collection.log.reload': 'Обновить',
      'collection.log.empty': 'Уведомлений пока не было.',
      'collection.log.when': 'Когда',
      'collection.log.kind': 'Что',
      'collection.log.recipient': 'Кому',
      'collection.log.subject': 'Тема',
      'collection.log.status': 'Состояние',
      'collection.kind.submissions': 'сводка сотрудникам',
      'collection.kind.window_open': 'начало приёма',
      'collection.kind.window_due': 'конец приёма',
      'collection.kind.verification': 'поверка',
      'collection.kind.reminders': 'напоминания (webhook)',
      'collection.status.pending': 'в очереди',
      'collection.status.sent': 'отправлено',
      'collection.status.failed': 'ошибка',
      'collection.run.reminders': 'Отправить напоминания сейчас',
      'collection.run.digest': 'Отправить сводку сейчас',
      'collection.run.queued': 'Запущено. Отправленное появится в журнале.',
    },
    en: {
      'nav.collection': 'Reading collection',
      'collection.title': 'Reading collection and reminders',
      'collection.building': 'Building',
      'collection.noBuildings': 'There are no buildings you have access to.',
      'collection.resource': 'Resource',
      'collection.allResources': 'All resources',
      'collection.ownRow': 'This building\'s own settings.',
      'collection.inherited': 'The shared settings apply now; saving creates this building\'s own.',
      'collection.window.title': 'Collection window',
      'collection.window.hint': 'Days of the month residents submit readings (e.g. 15th to 25th). Outside it only staff with the special right can enter readings.',
      'collection.window.start': 'From day',
      'collection.window.end': 'To day',
      'collection.window.saved': 'Saved: readings accepted from day {start} to day {end}.',
      'collection.enabled': 'Collection enabled',
      'collection.integerOnly': 'Whole numbers only',
      'collection.acceptExpired': 'Accept readings of meters past verification',
      'collection.reminderDays': 'Residents\' reminder days',
      'collection.reminderDaysHint': 'Days of the month, comma separated, e.g. 15, 25 (the window\'s first and last day).',
      'collection.daysInvalid': 'Give days from 1 to 31, comma separated.',
      'collection.warnFactor': 'Warn when consumption exceeds the average by a factor of',
      'collection.warnFactorHint': 'times (average of the last 3 months)',
      'collection.save': 'Save',
      'collection.saved': 'Saved.',
      'collection.reminders.title': 'Reminders and notifications',
      'collection.reminders.enabled': 'Notifications on',
      'collection.reminders.residents': 'Remind residents (e-mail) of the window and verification',
      'collection.reminders.digest': 'Tell staff about submitted readings',
      'collection.reminders.hour': 'Hour reminders go out',
      'collection.reminders.verification': 'Days before verification to warn',
      'collection.reminders.digestMinutes': 'Staff digest at most every, min',
      'collection.reminders.webhook': 'Webhook (push/SMS gateway)',
      'collection.reminders.webhookHint': 'Optional. A password in the URL is hidden; saving the hidden URL keeps the stored one.',
      'collection.log.title': 'Notification log',
      'collection.log.reload': 'Refresh',
      'collection.log.empty': 'No notifications yet.',
      'collection.log.when': 'When',
      'collection.log.kind': 'What',
      'collection.log.recipient': 'To',
      'collection.log.subject': 'Subject',
      'collection.log.status': 'State',
      'collection.kind.submissions': 'staff digest',
      'collection.kind.window_open': 'window opens',
      'collection.kind.window_due': 'window closes',
      'collection.kind.verification': 'verification',
      'collection.kind.reminders': 'reminders (webhook)',
      'collection.status.pending': 'queued',
      'collection.status.sent': 'sent',
      'collection.status.failed': 'failed',
      'collection.run.reminders': 'Send reminders now',
      'collection.run.digest': 'Send digest now',
      'collection.run.queued': 'Started. What is sent shows in the log.',
    },
  },
  routes: [{ path: '/collection', component: CollectionScreen, roles: ROLES }],
  nav: [{ href: '/collection', key: 'nav.collection', roles: ROLES }],
};
