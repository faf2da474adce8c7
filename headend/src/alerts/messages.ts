/**
 * Alert and notification texts, pure.
 *
 * Language: every text carries Russian AND English, Russian first. The people who act on an alert are
 * RU/UA housing staff (dispatchers, engineers) who read Russian; the project, its API, logs and most
 * integrators read English; and there is no per-installation language setting to follow (adding one is
 * a config change outside this module). Two short lines cost nothing in an e-mail or a chat message,
 * whereas the wrong single language makes the alert useless to half its readers.
 * `alerts.message` stores the two lines joined by "\n"; the API and the webhook pass it as is.
 * Pages do not show it: they word the alert from its kind and `alertParams` (below) in their reader's
 * language, with times in the building's zone.
 */
import { RESOURCE_NAMES, type Resource } from '@amr/protocols';
import type { AlertKind, ImbalanceAlertStatus, Severity } from './decisions.js';

export interface Bilingual { ru: string; en: string }

export const joinMessage = (m: Bilingual) => `${m.ru}\n${m.en}`;

const iso = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * The calendar month a month report covers, as YYYY-MM. Taken at the middle of the period so a month
 * starting at local midnight (e.g. 2025-12-31T21:00Z for Moscow) is named by its own month.
 */
export function monthLabel(periodStart: Date, periodEnd: Date): string {
  const mid = new Date((periodStart.getTime() + periodEnd.getTime()) / 2);
  return mid.toISOString().slice(0, 7);
}

const resourceName = (r: string) => RESOURCE_NAMES[r as Resource] ?? { ru: r, en: r };

/** The building as people name it: its address when the raiser knows it, else "дом N" / "building N". */
const buildingWhere = (id: number, address?: string | null): Bilingual => (address ? { ru: address, en: address } : { ru: `дом ${id}`, en: `building ${id}` });

export interface MeterSilentFacts {
  meterId: number; buildingId: number; resource: string; make: string; serialNumber: string;
  lastSeenAt: Date | null; createdAt: Date; minutes: number;
  /** The building's address (e-mails name it instead of the building's number). */
  address?: string | null;
}

export function meterSilentMessage(f: MeterSilentFacts): Bilingual {
  const name = `${f.make ? `${f.make} ` : ''}№${f.serialNumber}`;
  const res = resourceName(f.resource);
  const where = buildingWhere(f.buildingId, f.address);
  return f.lastSeenAt
    ? {
      ru: `Счётчик ${name} (${res.ru}, ${where.ru}) не передаёт данные с ${iso(f.lastSeenAt)} — дольше ${f.minutes} мин.`,
      en: `Meter ${name} (${res.en}, ${where.en}) silent since ${iso(f.lastSeenAt)} — over ${f.minutes} min.`,
    }
    : {
      ru: `Счётчик ${name} (${res.ru}, ${where.ru}) ни разу не передал данные с регистрации ${iso(f.createdAt)} — дольше ${f.minutes} мин.`,
      en: `Meter ${name} (${res.en}, ${where.en}) has sent no data since it was registered ${iso(f.createdAt)} — over ${f.minutes} min.`,
    };
}

export interface GatewaySilentFacts {
  gatewayId: string; name: string | null; buildingId: number | null;
  lastSeenAt: Date | null; createdAt: Date; minutes: number;
  address?: string | null;
}

export function gatewaySilentMessage(f: GatewaySilentFacts): Bilingual {
  const name = f.name ? `${f.gatewayId} (${f.name})` : f.gatewayId;
  const where = f.buildingId === null ? { ru: 'без дома', en: 'no building' } : buildingWhere(f.buildingId, f.address);
  return f.lastSeenAt
    ? {
      ru: `Шлюз ${name} (${where.ru}) не на связи с ${iso(f.lastSeenAt)} — дольше ${f.minutes} мин.`,
      en: `Gateway ${name} (${where.en}) silent since ${iso(f.lastSeenAt)} — over ${f.minutes} min.`,
    }
    : {
      ru: `Шлюз ${name} (${where.ru}) ни разу не выходил на связь с регистрации ${iso(f.createdAt)} — дольше ${f.minutes} мин.`,
      en: `Gateway ${name} (${where.en}) has not connected since it was registered ${iso(f.createdAt)} — over ${f.minutes} min.`,
    };
}

export interface ImbalanceFacts {
  buildingId: number; resource: string; status: ImbalanceAlertStatus; periodStart: Date; periodEnd: Date;
  imbalancePct: number | null; highLossPct: number; negativePct: number;
  address?: string | null;
}

const pct = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)}%`);

export function imbalanceMessage(f: ImbalanceFacts): Bilingual {
  const res = resourceName(f.resource);
  const month = monthLabel(f.periodStart, f.periodEnd);
  const where = buildingWhere(f.buildingId, f.address);
  return f.status === 'high_loss'
    ? {
      ru: `Небаланс: ${res.ru}, ${where.ru}, ${month}: потери ${pct(f.imbalancePct)} выше порога ${f.highLossPct}%.`,
      en: `Imbalance: ${res.en}, ${where.en}, ${month}: loss ${pct(f.imbalancePct)} above the ${f.highLossPct}% threshold.`,
    }
    : {
      ru: `Небаланс: ${res.ru}, ${where.ru}, ${month}: отрицательный небаланс ${pct(f.imbalancePct)} (допуск −${f.negativePct}%) — квартирные счётчики показывают больше домового.`,
      en: `Imbalance: ${res.en}, ${where.en}, ${month}: negative imbalance ${pct(f.imbalancePct)} (tolerance −${f.negativePct}%) — apartment meters exceed the building meter.`,
    };
}

export interface PolicyJobFacts {
  state: 'failing' | 'overdue' | 'paused';
  jobId: number;
  /** TimescaleDB's name, e.g. "Columnstore Policy [1000]". */
  name: string;
  proc: string;
  /** Hypertable or continuous aggregate. */
  table: string;
  error: string | null;
  errorAt: Date | null;
  lastSuccessAt: Date | null;
  nextStart: Date | null;
  /** The head-end's own run this round (null: it did not run it). */
  ownRun: { at: Date; ok: boolean; error: string | null } | null;
}

/** What the policy keeps up, so a reader knows what stops with it. */
const POLICY_EFFECT: Record<string, Bilingual> = {
  policy_refresh_continuous_aggregate: { ru: 'агрегаты (часовые/суточные итоги) не пересчитываются', en: 'the hourly/daily aggregates are not materialised' },
  policy_compression: { ru: 'старые показания не сжимаются, база растёт в разы быстрее', en: 'old readings are not compressed, the database grows several times faster' },
  policy_retention: { ru: 'сырые показания старше RAW_RETENTION_DAYS не удаляются', en: 'raw readings older than RAW_RETENTION_DAYS are not dropped' },
};

/** The server-side fault behind every failing background job on Debian's PostgreSQL 15.20. */
const PORTAL_FAULT = /cannot drop portal "" while it is being set up/;

export function policyJobMessage(f: PolicyJobFacts): Bilingual {
  const job = `${f.name} (job ${f.jobId}, ${f.proc} on ${f.table})`;
  const effect = POLICY_EFFECT[f.proc] ?? { ru: 'политика не выполняется', en: 'the policy does not run' };
  const what: Bilingual = f.state === 'failing'
    ? { ru: `Задание TimescaleDB ${job} завершилось ошибкой${f.errorAt ? ` ${iso(f.errorAt)}` : ''}: ${f.error ?? 'текст ошибки не сохранён'}`,
      en: `TimescaleDB job ${job} failed${f.errorAt ? ` at ${iso(f.errorAt)}` : ''}: ${f.error ?? 'no error text kept'}` }
    : f.state === 'overdue'
      ? { ru: `Задание TimescaleDB ${job} не запускается сервером: следующий запуск был назначен на ${f.nextStart ? iso(f.nextStart) : '—'}, последний успешный — ${f.lastSuccessAt ? iso(f.lastSuccessAt) : 'ни разу'}`,
        en: `TimescaleDB job ${job} is not being run by the server: it was due at ${f.nextStart ? iso(f.nextStart) : '—'}, last success ${f.lastSuccessAt ? iso(f.lastSuccessAt) : 'never'}` }
      : { ru: `Задание TimescaleDB ${job} приостановлено (scheduled = false)`, en: `TimescaleDB job ${job} is paused (scheduled = false)` };
  const fix: Bilingual = f.state === 'paused'
    ? { ru: `Возобновить: SELECT alter_job(${f.jobId}, scheduled => true);`, en: `Resume it: SELECT alter_job(${f.jobId}, scheduled => true);` }
    : f.state === 'overdue'
      ? { ru: 'Проверьте, что планировщик TimescaleDB работает: shared_preload_libraries = \'timescaledb\', timescaledb.max_background_workers не меньше числа баз и одновременных заданий, SELECT _timescaledb_functions.start_background_workers();',
        en: 'Check that the TimescaleDB scheduler runs: shared_preload_libraries = \'timescaledb\', timescaledb.max_background_workers at least the number of databases plus concurrent jobs, SELECT _timescaledb_functions.start_background_workers();' }
      : f.error && PORTAL_FAULT.test(f.error)
        ? { ru: 'Это известный сбой фоновых заданий TimescaleDB на PostgreSQL 15.20 (Debian): перейдите на сборку PostgreSQL/TimescaleDB, где фоновые задания выполняются (CALL run_job из клиента работает).',
          en: 'This is a known fault of TimescaleDB background jobs on Debian\'s PostgreSQL 15.20: move to a PostgreSQL/TimescaleDB build whose background jobs run (CALL run_job from a client works).' }
        : { ru: `Подробности: SELECT * FROM timescaledb_information.job_errors WHERE job_id = ${f.jobId}; и журнал сервера.`,
          en: `Details: SELECT * FROM timescaledb_information.job_errors WHERE job_id = ${f.jobId}; and the server log.` };
  const own: Bilingual = !f.ownRun
    ? { ru: 'Head-end его не запускает.', en: 'The head-end does not run it.' }
    : f.ownRun.ok
      ? { ru: `Пока задание не пройдёт на сервере, head-end выполняет его сам (последний раз успешно ${iso(f.ownRun.at)}).`,
        en: `Until the server's job succeeds, the head-end runs it itself (last run OK at ${iso(f.ownRun.at)}).` }
      : { ru: `Head-end выполняет его сам, но и это не удалось ${iso(f.ownRun.at)}: ${f.ownRun.error ?? ''}`,
        en: `The head-end runs it itself, but that failed too at ${iso(f.ownRun.at)}: ${f.ownRun.error ?? ''}` };
  return { ru: `${what.ru} — ${effect.ru}. ${own.ru} ${fix.ru}`, en: `${what.en} — ${effect.en}. ${own.en} ${fix.en}` };
}

export interface AccessCodeKeyFacts {
  /** Live codes (unused, unrevoked, unexpired) hashed under another key, and their accounts. */
  codes: number; accounts: number;
  /** The key differs from the one the head-end last started with (false: still codes of an earlier change). */
  changed: boolean;
}

export function accessCodeKeyMessage(f: AccessCodeKeyFacts): Bilingual {
  const why: Bilingual = f.changed
    ? { ru: 'Head-end запущен с другим SECRETS_KEY, чем в прошлый раз', en: 'The head-end started with another SECRETS_KEY than last time' }
    : { ru: 'SECRETS_KEY был заменён раньше', en: 'SECRETS_KEY was replaced earlier' };
  return {
    ru: `${why.ru}: ${f.codes} действующих кодов доступа жильцов (лицевых счетов: ${f.accounts}) больше не подходят — они выданы с прежним ключом. Верните прежний SECRETS_KEY (или DATA_DIR/secrets.key) — коды снова заработают; или выдайте этим счетам новые коды (письма-приглашения дома: «все счета»).`,
    en: `${why.en}: ${f.codes} live residents' access codes (${f.accounts} accounts) no longer work — they were issued under the previous key. Restore the previous SECRETS_KEY (or DATA_DIR/secrets.key) and they work again; or issue those accounts new codes (a building's invite letters for all accounts).`,
  };
}

export interface HeatDeliveryFailedFacts {
  buildingId: number; address?: string | null; period: string; version: number;
  configId: number; location: string; attempts: number; error: string;
}

/** A signed statement an exchange configuration gave up delivering: which, where, and why. */
export function heatDeliveryFailedMessage(f: HeatDeliveryFailedFacts): Bilingual {
  const where = buildingWhere(f.buildingId, f.address);
  return {
    ru: `Ведомость учёта тепла ${where.ru}, ${f.period}, версия ${f.version} не доставлена конфигурацией обмена ${f.configId} (${f.location}): ${f.attempts} попыток исчерпаны, последняя ошибка: ${f.error}. Повторных попыток не будет: исправьте место доставки и передайте эту версию поставщику сами (PDF и Excel — на экране ведомости); следующая версия будет доставлена.`,
    en: `The heat statement of ${where.en}, ${f.period}, version ${f.version} was not delivered by exchange configuration ${f.configId} (${f.location}): all ${f.attempts} attempts used, last error: ${f.error}. No further attempts are made: fix the destination and hand this version to the supplier yourself (PDF and Excel on the statement screen); a later version is delivered.`,
  };
}

export interface HeatMailFailedFacts {
  buildingId: number; address?: string | null; period: string; version: number;
  emailTo: string; attempts: number; error: string;
}

/** A signed statement whose mail to the heat supplier was given up: which, to whom, why, and what to do. */
export function heatMailFailedMessage(f: HeatMailFailedFacts): Bilingual {
  const where = buildingWhere(f.buildingId, f.address);
  return {
    ru: `Ведомость учёта тепла ${where.ru}, ${f.period}, версия ${f.version} не отправлена по e-mail поставщику (${f.emailTo}): ${f.attempts} попыток исчерпаны, последняя ошибка: ${f.error}. Повторных попыток не будет: устраните причину (SMTP-сервер, его пароль, адрес поставщика) и нажмите «Отправить снова» на экране ведомости — там же можно исправить адреса.`,
    en: `The heat statement of ${where.en}, ${f.period}, version ${f.version} was not mailed to the heat supplier (${f.emailTo}): all ${f.attempts} attempts used, last error: ${f.error}. No further attempts are made: fix the cause (the SMTP server, its password, the supplier's address) and use "send again" on the statement screen, where the addresses can be corrected too.`,
  };
}

/** One statement total as signed and as computed now. */
export interface TotalChange { total: string; signed: number | null; now: number | null }

export interface HeatStatementOutdatedFacts {
  buildingId: number; address?: string | null; period: string; version: number; signedBy: string; signedAt: string;
  changes: readonly TotalChange[];
}

const figure = (v: number | null) => (v === null ? '—' : String(v));

/** A signed month whose statement now differs: each changed total, signed → now, and how to hand over the corrected one. */
export function heatStatementOutdatedMessage(f: HeatStatementOutdatedFacts): Bilingual {
  const where = buildingWhere(f.buildingId, f.address);
  const list = f.changes.map((c) => `${c.total} ${figure(c.signed)} → ${figure(c.now)}`).join(', ');
  return {
    ru: `Подписанная ведомость учёта тепла ${where.ru}, ${f.period} (версия ${f.version}, ${f.signedBy}, ${iso(new Date(f.signedAt))}) устарела: записи архива изменились после подписания, итоги теперь другие (подписано → сейчас): ${list}. Подпишите исправленную ведомость (correct: true).`,
    en: `The signed heat statement of ${where.en}, ${f.period} (version ${f.version}, ${f.signedBy}, ${iso(new Date(f.signedAt))}) is outdated: archive records changed after it was signed and its totals differ (signed → now): ${list}. Sign the corrected statement (correct: true).`,
  };
}

/** What a notification says about one alert: the stored row's fields that matter to a reader. */
export interface AlertForNotice {
  id: number; kind: AlertKind; subject: string; severity: Severity; message: string;
  raisedAt: Date; clearedAt: Date | null;
}

export type NoticeEvent = 'raised' | 'cleared';

const EVENT_TITLE: Record<NoticeEvent, Bilingual> = { raised: { ru: 'Тревога', en: 'Alert' }, cleared: { ru: 'Снято', en: 'Cleared' } };

export function emailSubject(event: NoticeEvent, a: AlertForNotice): string {
  const t = EVENT_TITLE[event];
  return `[AMR] ${t.ru} / ${t.en}: ${a.kind} ${a.subject}`;
}

export function emailText(event: NoticeEvent, a: AlertForNotice): string {
  const t = EVENT_TITLE[event];
  return [
    `${t.ru} / ${t.en} — ${a.severity}`,
    '',
    a.message,
    '',
    `Вид / kind: ${a.kind}`,
    `Объект / subject: ${a.subject}`,
    `Поднята / raised: ${iso(a.raisedAt)}`,
    ...(a.clearedAt ? [`Снята / cleared: ${iso(a.clearedAt)}`] : []),
    `Тревога № / alert id: ${a.id}`,
  ].join('\n');
}

/**
 * An alert's parameters as data, for pages that word the alert in their reader's language and show its
 * times in the building's zone (the stored `message` is fixed at raise time, in both languages and UTC).
 * Built from the columns and the `data` the raisers store (check.ts, imbalance.ts), so it also works for
 * alerts raised before this existed. Keys are snake_case like the rest of the API; absent facts are null.
 */
export interface AlertParams {
  resource: string | null;
  serial_number: string | null;
  make: string | null;
  gateway_id: string | null;
  gateway_name: string | null;
  /** Silence: the last message, or null when the subject never sent one (then `silent_since` is its registration). */
  last_seen_at: string | null;
  silent_since: string | null;
  threshold_minutes: number | null;
  /** Imbalance: the month (YYYY-MM), high_loss | negative_imbalance, the figure and its thresholds. */
  month: string | null;
  status: string | null;
  imbalance_pct: number | null;
  high_loss_pct: number | null;
  negative_pct: number | null;
  /** Access-code key: the live codes hashed under another key, and their accounts. */
  codes: number | null;
  accounts: number | null;
  /** Policy job: the TimescaleDB job, its policy and table, its state and the server's error text. */
  job_id: number | null;
  policy: string | null;
  table: string | null;
  job_state: string | null;
  error: string | null;
  /** Heat statements: the version (not delivered / signed), the exchange configuration, its attempts and destination, the changed totals. */
  version: number | null;
  config_id: number | null;
  attempts: number | null;
  location: string | null;
  /** Heat statement mail: the addresses it was not delivered to. */
  email_to: string | null;
  changes: TotalChange[] | null;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
const numOrNull = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function alertParams(a: { kind: AlertKind; resource: string | null; gateway_id: string | null; data: unknown }): AlertParams {
  const d = (a.data && typeof a.data === 'object' ? a.data : {}) as Record<string, unknown>;
  const th = (d.thresholds && typeof d.thresholds === 'object' ? d.thresholds : {}) as Record<string, unknown>;
  const silence = a.kind === 'meter_silent' || a.kind === 'gateway_silent';
  const policy = a.kind === 'policy_job';
  const heatDelivery = a.kind === 'heat_delivery_failed';
  const heatOutdated = a.kind === 'heat_statement_outdated';
  const heatMail = a.kind === 'heat_mail_failed';
  return {
    resource: a.resource ?? str(d.resource),
    serial_number: str(d.serial_number),
    make: str(d.make),
    gateway_id: a.gateway_id,
    gateway_name: str(d.name),
    last_seen_at: silence ? str(d.last_seen_at) : null,
    silent_since: silence ? str(d.last_seen_at) ?? str(d.created_at) : null,
    threshold_minutes: numOrNull(d.threshold_minutes),
    month: str(d.month),
    status: a.kind === 'imbalance' ? str(d.status) : null,
    imbalance_pct: numOrNull(d.imbalance_pct),
    codes: a.kind === 'access_code_key' ? numOrNull(d.codes) : null,
    accounts: a.kind === 'access_code_key' ? numOrNull(d.accounts) : null,
    high_loss_pct: numOrNull(th.highLossPct ?? th.high_loss_pct),
    negative_pct: numOrNull(th.negativePct ?? th.negative_pct),
    job_id: policy ? numOrNull(d.job_id) : null,
    policy: policy ? str(d.policy) : null,
    table: policy ? str(d.table) : null,
    job_state: policy ? str(d.state) : null,
    error: policy || heatDelivery || heatMail ? str(d.error) : null,
    version: heatDelivery || heatMail || heatOutdated ? numOrNull(d.version) : null,
    config_id: heatDelivery ? numOrNull(d.config_id) : null,
    attempts: heatDelivery || heatMail ? numOrNull(d.attempts) : null,
    location: heatDelivery ? str(d.location) : null,
    email_to: heatMail ? str(d.email_to) : null,
    changes: heatOutdated && Array.isArray(d.changes) ? (d.changes as TotalChange[]) : null,
  };
}
