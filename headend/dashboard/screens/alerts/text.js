/**
 * An alert worded in the reader's language from its kind and facts (the API's `params`), times in its
 * building's zone. The stored `message` (both languages, UTC) is for e-mail; a page never shows it.
 */
import { t } from '../../i18n.js';
import { fmtPct } from '../../format.js';
import { fmtMonthLong, fmtZoned } from '../../ui/time.js';

const resourceWord = (r) => (r ? t(`resource.${r}`) : t('common.none'));

export function alertText(a) {
  const p = a.params ?? {};
  const zone = a.building_timezone;
  if (a.kind === 'meter_silent') {
    const meter = [p.make, p.serial_number ? `№${p.serial_number}` : null].filter(Boolean).join(' ') || t('common.none');
    return t(p.last_seen_at ? 'alert.meter_silent' : 'alert.meter_silent_never', { meter, resource: resourceWord(p.resource), since: fmtZoned(p.silent_since, zone) });
  }
  if (a.kind === 'gateway_silent') {
    const gateway = p.gateway_name ? `${p.gateway_id} (${p.gateway_name})` : (p.gateway_id ?? t('common.none'));
    return t(p.last_seen_at ? 'alert.gateway_silent' : 'alert.gateway_silent_never', { gateway, since: fmtZoned(p.silent_since, zone) });
  }
  if (a.kind === 'imbalance') {
    const negative = p.status === 'negative_imbalance';
    return t(negative ? 'alert.imbalance_negative' : 'alert.imbalance', {
      resource: resourceWord(a.resource ?? p.resource), month: fmtMonthLong(p.month), pct: fmtPct(p.imbalance_pct),
      threshold: fmtPct(negative ? p.negative_pct : p.high_loss_pct),
    });
  }
  if (a.kind === 'policy_job') {
    const job = `${p.policy ?? t('common.none')} (${p.table ?? t('common.none')}, job ${p.job_id ?? '?'})`;
    return t(`alert.policy_job_${p.job_state === 'paused' || p.job_state === 'overdue' ? p.job_state : 'failing'}`, { job, error: p.error ?? t('common.none') });
  }
  if (a.kind === 'access_code_key') return t('alert.access_code_key', { codes: p.codes ?? '?', accounts: p.accounts ?? '?' });
  if (a.kind === 'heat_delivery_failed') {
    return t('alert.heat_delivery_failed', { month: fmtMonthLong(p.month), version: p.version ?? '?', config: p.config_id ?? '?', location: p.location ?? t('common.none'), attempts: p.attempts ?? '?', error: p.error ?? t('common.none') });
  }
  if (a.kind === 'heat_mail_failed') {
    return t('alert.heat_mail_failed', { month: fmtMonthLong(p.month), version: p.version ?? '?', to: p.email_to ?? t('common.none'), attempts: p.attempts ?? '?', error: p.error ?? t('common.none') });
  }
  if (a.kind === 'heat_statement_outdated') {
    const changes = (p.changes ?? []).map((c) => `${c.total} ${c.signed ?? '—'} → ${c.now ?? '—'}`).join(', ');
    return t('alert.heat_statement_outdated', { month: fmtMonthLong(p.month), version: p.version ?? '?', changes: changes || t('common.none') });
  }
  return t('alerts.kindUnknown', { kind: a.kind });
}

export const messages = {
  ru: {
    'alert.meter_silent': 'Прибор {meter} ({resource}) не передаёт данные с {since}',
    'alert.meter_silent_never': 'Прибор {meter} ({resource}) ни разу не передал данные с регистрации {since}',
    'alert.gateway_silent': 'Шлюз {gateway} не на связи с {since}',
    'alert.gateway_silent_never': 'Шлюз {gateway} ни разу не выходил на связь с регистрации {since}',
    'alert.imbalance': 'Небаланс, {resource}, {month}: потери {pct} — выше порога {threshold}',
    'alert.imbalance_negative': 'Небаланс, {resource}, {month}: отрицательный небаланс {pct} (допуск −{threshold}) — квартирные приборы показывают больше домового',
    'alert.policy_job_failing': 'Задание TimescaleDB {job} завершается ошибкой: {error}. Head-end выполняет его сам, пока оно не пройдёт на сервере',
    'alert.policy_job_overdue': 'Задание TimescaleDB {job} не запускается сервером. Head-end выполняет его сам, пока оно не пройдёт на сервере',
    'alert.policy_job_paused': 'Задание TimescaleDB {job} приостановлено',
    'alert.access_code_key': 'Коды доступа жильцов не подходят: {codes} действующих кодов (счетов: {accounts}) выданы с прежним SECRETS_KEY. Верните прежний ключ или выдайте новые коды',
    'alert.heat_delivery_failed': 'Ведомость тепла за {month}, версия {version}, не доставлена конфигурацией обмена № {config} ({location}): попытки исчерпаны ({attempts}), последняя ошибка: {error}',
    'alert.heat_mail_failed': 'Ведомость тепла за {month}, версия {version}, не отправлена по e-mail поставщику ({to}): попытки исчерпаны ({attempts}), последняя ошибка: {error}. Устраните причину и отправьте снова на экране ведомости (там же можно исправить адреса)',
    'alert.heat_statement_outdated': 'Подписанная ведомость тепла за {month} (версия {version}) устарела, итоги изменились (подписано → сейчас): {changes}. Подпишите исправленную ведомость',
    'alerts.kindUnknown': 'Тревога вида «{kind}»',
  },
  en: {
    'alert.meter_silent': 'Meter {meter} ({resource}) has sent no data since {since}',
    'alert.meter_silent_never': 'Meter {meter} ({resource}) has sent no data since it was registered {since}',
    'alert.gateway_silent': 'Gateway {gateway} offline since {since}',
    'alert.gateway_silent_never': 'Gateway {gateway} has not connected since it was registered {since}',
    'alert.imbalance': 'Imbalance, {resource}, {month}: loss {pct}, above the {threshold} threshold',
    'alert.imbalance_negative': 'Imbalance, {resource}, {month}: negative imbalance {pct} (tolerance −{threshold}): apartment meters exceed the building meter',
    'alert.policy_job_failing': 'TimescaleDB job {job} fails: {error}. The head-end runs it itself until the server\'s run succeeds',
    'alert.policy_job_overdue': 'TimescaleDB job {job} is not being run by the server. The head-end runs it itself until the server\'s run succeeds',
    'alert.policy_job_paused': 'TimescaleDB job {job} is paused',
    'alert.access_code_key': 'Residents\' access codes do not work: {codes} live codes ({accounts} accounts) were issued under the previous SECRETS_KEY. Restore that key or issue new codes',
    'alert.heat_delivery_failed': 'The heat statement for {month}, version {version}, was not delivered by exchange configuration no. {config} ({location}): attempts used up ({attempts}), last error: {error}',
    'alert.heat_mail_failed': 'The heat statement for {month}, version {version}, was not mailed to the heat supplier ({to}): attempts used up ({attempts}), last error: {error}. Fix the cause and send it again on the statement screen (the addresses can be corrected there)',
    'alert.heat_statement_outdated': 'The signed heat statement for {month} (version {version}) is outdated, its totals changed (signed → now): {changes}. Sign the corrected statement',
    'alerts.kindUnknown': 'Alert of kind "{kind}"',
  },
};
