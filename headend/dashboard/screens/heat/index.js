/**
 * Ведомость учёта тепла / Heat statement (#/heat?building=<id>&period=YYYY-MM): the month's statement of
 * the building heat meter as the heat supplier receives it — daily rows (date, t1, t2, M1, M2, M1−M2,
 * Q in Гкал, Тр, Тнс), totals, the НС list with the reasons in the user's language, the Excel and PDF
 * files, and the sign-off (who, when; once — a second one is answered 409 and said so in words). A
 * signed month whose totals changed since offers "sign the corrected statement" (the same API with
 * `correct: true`: the next version), and lists the statement's deliveries through the exchange
 * (configuration, version, attempts, files, last error, when); a delivery whose attempts are used up
 * can be sent again (a signer gives the reason: POST …/deliveries/:config_id/send-again, a fresh
 * series of attempts for the configuration's next run, audited). The mail to the heat supplier shows
 * whether it went out, its attempts and last error, and once they are used up the same "send again"
 * form (POST …/heat-statement/mail/send-again) with the supplier's addresses to correct.
 * Every number is the API's (src/heat/: the days summed and rounded there, the totals the sums of the
 * rounded days); the screen only formats them. A month without records says so, never zeros.
 * A building with several heat meters: a meter select (`&meter=`), sent as meter_id.
 * API: GET /buildings, GET /meters?building_id&resource=heat&placement=building,
 * GET /buildings/:id/heat-statement?period&meter_id&format=json|xlsx|pdf, POST /buildings/:id/heat-statement/sign-off {correct?},
 * POST /buildings/:id/heat-statement/deliveries/:config_id/send-again {period, reason},
 * POST /buildings/:id/heat-statement/mail/send-again {period, reason, email_to?}.
 */
import { html, useAction, useCallback, useLoad, useQuery, useState } from '../../../web-shared/ui.js';
import { api, ApiError, download, qs } from '../../api.js';
import { t, locale } from '../../i18n.js';
import { fmtDay, fmtMonthLong, fmtNumber, isMonth, localMonth, shiftMonth } from '../../format.js';
import { Card, DataTable, ErrorNote, Loaded, Page, errorText } from '../../ui/components.js';
import { BuildingSelect, dateTimeIn, useChosenBuilding } from '../../ui/building-select.js';
import { MonthPicker } from '../../ui/month-picker.js';
import { fmtInterval, nsText } from '../../ui/heat.js';
import { unitLabel } from '../../ui/units.js';

const ROLES = ['admin', 'engineer', 'billing'];
/** Who may sign (heat:sign_off); others see the state only. */
const SIGNERS = new Set(['admin', 'engineer']);

const path = (building, period, meter, format) => `/buildings/${building}/heat-statement?${qs({ period, meter_id: meter, format })}`;

/**
 * A 409 of the sign-off in words: signed meanwhile (who and when, from the statement reloaded after the
 * refusal) or nothing to sign; another error by its code.
 */
function signOffError(e, s, tz) {
  if (!(e instanceof ApiError) || e.status !== 409) return `${t('common.error')}: ${errorText(e)}`;
  if (s.signed_off) return t('heat.alreadySigned', { who: s.signed_off.by, when: dateTimeIn(s.signed_off.at, tz, locale()) });
  return s.records ? t('heat.signConflict') : t('heat.nothingToSign');
}

function SignOff({ s, me, building, period, meter, onSigned }) {
  const tz = s.building.timezone;
  const [sign, st] = useAction(useCallback(async (correct) => {
    try {
      return await api(`/buildings/${building}/heat-statement/sign-off`, { method: 'POST', body: { period, ...(meter ? { meter_id: meter } : {}), ...(correct ? { correct: true } : {}) } });
    } finally {
      // Signed now or by someone else meanwhile (409): the statement shows who and when either way.
      onSigned();
    }
  }, [building, period, meter]));
  const failure = st.error ? signOffError(st.error, s, tz) : null;
  const v = s.signed_off?.version ?? 1;
  return html`<div data-testid="heat-signoff">
    ${s.signed_off
      ? html`<p class="note ok" role="status" data-testid="heat-signed">${t('heat.signed', { who: s.signed_off.by, when: dateTimeIn(s.signed_off.at, tz, locale()) })}</p>`
      : html`<p class="muted" data-testid="heat-unsigned">${t('heat.unsigned')}</p>`}
    ${s.signed_off?.replaces ? html`<p class="muted" data-testid="heat-version">${t('heat.version', {
      version: v, previous: s.signed_off.replaces.version, who: s.signed_off.replaces.by, when: dateTimeIn(s.signed_off.replaces.at, tz, locale()) })}</p>` : null}
    ${s.changed_since_sign_off ? html`<p class="note error" role="alert" data-testid="heat-changed">${t('heat.changed')}</p>` : null}
    ${SIGNERS.has(me?.role) && s.records > 0 && !s.signed_off ? html`<p class="actions-line">
      <button type="button" class="primary" data-testid="heat-sign" disabled=${st.busy} onClick=${() => sign(false)}>${t('heat.sign')}</button></p>` : null}
    ${SIGNERS.has(me?.role) && s.records > 0 && s.signed_off && s.changed_since_sign_off ? html`<p class="actions-line">
      <button type="button" class="primary" data-testid="heat-resign" disabled=${st.busy} onClick=${() => sign(true)}>${t('heat.resign', { version: v + 1 })}</button></p>` : null}
    ${failure ? html`<p class="note error" role="alert" data-testid="heat-sign-error">${failure}</p>` : null}
  </div>`;
}

/**
 * "Send again" of a delivery or of the mail whose attempts are used up: the reason (what was fixed) is
 * required and kept in the audit journal; the statement reloads to show the fresh series. The mail's
 * form (`emailTo` given) also holds the supplier's addresses, pre-filled with the current ones: changed,
 * they are sent as email_to and replace them (a mistyped address; the API checks them as at sign-off).
 */
function SendAgain({ post, testid, period, onSent, emailTo }) {
  const [reason, setReason] = useState('');
  const [to, setTo] = useState(emailTo ?? '');
  const [send, st] = useAction(useCallback(async (r, addresses) => {
    await post({ period, reason: r, ...(addresses !== undefined ? { email_to: addresses } : {}) });
    onSent();
  }, [post, period]));
  const id = `${testid}-reason`;
  const changedTo = emailTo !== undefined && to.trim() !== emailTo ? to.trim() : undefined;
  return html`<form class="ack-form" data-testid=${testid} onSubmit=${(e) => { e.preventDefault(); if (reason.trim().length >= 3) send(reason.trim(), changedTo); }}>
    ${emailTo !== undefined ? html`<label for=${`${testid}-email-to`}>${t('heat.mailTo')}</label>
    <input id=${`${testid}-email-to`} data-testid=${`${testid}-email-to`} name="email_to" required maxlength="1000" value=${to} onInput=${(e) => setTo(e.currentTarget.value)} />` : null}
    <label for=${id}>${t('heat.sendAgainReason')}</label>
    <input id=${id} data-testid=${id} name="reason" required minlength="3" maxlength="500" placeholder=${t('heat.sendAgainHint')} value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
    <button type="submit" class="small primary" disabled=${st.busy || reason.trim().length < 3} data-testid=${`${testid}-submit`}>${t('heat.sendAgain')}</button>
    <${ErrorNote} error=${st.error} testid=${`${testid}-error`} />
  </form>`;
}

/**
 * The signed statement's mail to the heat supplier: sent when, or its attempts and last error; once
 * they are used up a signer may send it again (POST …/heat-statement/mail/send-again).
 */
function Mail({ s, me, building, period, onSent }) {
  const so = s.signed_off;
  if (!so?.email_to) return null;
  const tz = s.building.timezone;
  const gaveUp = !so.sent_at && so.send_attempts >= so.max_send_attempts;
  const state = so.sent_at ? t('heat.mailSent', { to: so.email_to, when: dateTimeIn(so.sent_at, tz, locale()) })
    : gaveUp ? t('heat.mailGaveUp', { to: so.email_to, n: so.send_attempts, max: so.max_send_attempts })
      : so.send_attempts ? t('heat.mailRetry', { to: so.email_to, n: so.send_attempts, max: so.max_send_attempts })
        : t('heat.mailWaiting', { to: so.email_to });
  return html`<div data-testid="heat-mail">
    <p class=${so.sent_at ? 'muted' : gaveUp ? 'note error' : 'muted'} data-testid="heat-mail-state">${state}${!so.sent_at && so.send_error
      ? html`<br /><span data-testid="heat-mail-error">${t('heat.deliveryError')}: ${so.send_error}</span>` : null}</p>
    ${so.resent ? html`<p class="muted" data-testid="heat-mail-resent">${t('heat.resent', { who: so.resent.by, when: dateTimeIn(so.resent.at, tz, locale()), reason: so.resent.reason })}</p>` : null}
    ${SIGNERS.has(me?.role) && gaveUp
      ? html`<${SendAgain} post=${(body) => api(`/buildings/${building}/heat-statement/mail/send-again`, { method: 'POST', body })} testid="heat-mail-send-again" period=${period} onSent=${onSent} emailTo=${so.email_to} />` : null}
  </div>`;
}

/** The signed versions' deliveries through the organisation's exchange: where, how many tries, what was written, what failed, when. */
function Deliveries({ s, me, building, period, reload }) {
  const tz = s.building.timezone;
  const when = (d) => (d.delivered_at ? t('heat.deliveredAt', { when: dateTimeIn(d.delivered_at, tz, locale()) })
    : d.attempts >= d.max_attempts ? t('heat.deliveryGaveUp', { when: dateTimeIn(d.last_attempt_at, tz, locale()) })
      : t('heat.deliveryRetry', { when: dateTimeIn(d.last_attempt_at, tz, locale()) }));
  return html`<${Card} title=${t('heat.deliveries')} testid="heat-deliveries">
    <${DataTable} testid="heat-deliveries-table" className="data stack" caption=${t('heat.deliveries')} rows=${s.deliveries}
      rowKey=${(d) => `${d.config_id}-${d.version}`} rowTestid=${(d) => `heat-delivery-${d.config_id}-v${d.version}`}
      rowClass=${(d) => (d.delivered_at ? null : 'ns-day')} empty=${t('heat.noDeliveries')} columns=${[
        { key: 'config', label: t('heat.deliveryConfig'), render: (d) => t('heat.deliveryConfigText', { id: d.config_id, location: d.location }) },
        { key: 'version', label: t('heat.deliveryVersion'), num: true, render: (d) => String(d.version) },
        { key: 'attempts', label: t('heat.deliveryAttempts'), num: true, render: (d) => t('heat.attemptsOf', { n: d.attempts, max: d.max_attempts }) },
        { key: 'files', label: t('heat.deliveryFiles'), render: (d) => (d.files.length ? d.files.join(', ') : t('common.none')) },
        { key: 'error', label: t('heat.deliveryError'), render: (d) => d.error ?? t('common.none') },
        { key: 'when', label: t('heat.deliveryWhen'), render: (d) => html`${when(d)}${d.resent
          ? html`<br /><span class="muted" data-testid=${`heat-resent-${d.config_id}`}>${t('heat.resent', { who: d.resent.by, when: dateTimeIn(d.resent.at, tz, locale()), reason: d.resent.reason })}</span>` : null}
          ${SIGNERS.has(me?.role) && !d.delivered_at && d.attempts >= d.max_attempts && d.version === s.signed_off?.version
            ? html`<${SendAgain} post=${(body) => api(`/buildings/${building}/heat-statement/deliveries/${d.config_id}/send-again`, { method: 'POST', body })} testid=${`heat-send-again-${d.config_id}`} period=${period} onSent=${reload} />` : null}` },
      ]} />
  <//>`;
}

/** A statement's number with its fixed decimals, as printed (2,150 Гкал; 24,00 ч): the columns line up and add up. */
const n = (v, digits) => (v == null ? t('common.none') : new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v));

function Statement({ s, me, building, period, meter, reload }) {
  const tz = s.building.timezone;
  const [get, st] = useAction(useCallback((format) => download(path(building, period, meter, format), { fallbackName: `heat-statement-${period}.${format}` }), [building, period, meter]));
  const cols = [
    { key: 'date', label: t('heat.date'), render: (r) => (r.date ? fmtDay(r.date) : t('heat.total')) },
    { key: 't1', label: `t1, ${unitLabel('degC')}`, num: true, render: (r) => n(r.t1, 2) },
    { key: 't2', label: `t2, ${unitLabel('degC')}`, num: true, render: (r) => n(r.t2, 2) },
    { key: 'm1', label: `M1, ${unitLabel('t')}`, num: true, render: (r) => n(r.m1, 3) },
    { key: 'm2', label: `M2, ${unitLabel('t')}`, num: true, render: (r) => n(r.m2, 3) },
    { key: 'dm', label: `M1−M2, ${unitLabel('t')}`, num: true, render: (r) => n(r.dm, 3) },
    { key: 'q_gcal', label: `Q, ${unitLabel('Gcal')}`, num: true, render: (r) => html`<span data-testid=${`heat-q-${r.date ?? 'total'}`} data-value=${r.q_gcal ?? ''}>${n(r.q_gcal, 3)}</span>` },
    { key: 'working_hours', label: `${t('heat.tr')}, ${unitLabel('h')}`, num: true, render: (r) => n(r.working_hours, 2) },
    { key: 'ns_hours', label: `${t('heat.tns')}, ${unitLabel('h')}`, num: true, render: (r) => n(r.ns_hours, 2) },
    { key: 'note', label: t('heat.note'), render: (r) => (!r.date ? t('heat.nsCount', { n: s.ns.length })
      : !r.records ? t('heat.noRecord') : [r.ns ? t('heat.nsMark') : null, r.q_calculated_kwh ? t('heat.calculatedMark') : null].filter(Boolean).join(', ')) },
  ];
  const totals = s.totals ? { ...s.totals, date: null, ns: false } : null;
  return html`
    <${Card} title=${t('heat.meter')} testid="heat-meter"
        actions=${html`<button type="button" class="small" data-testid="heat-xlsx" disabled=${st.busy || !s.records} onClick=${() => get('xlsx')}>${t('heat.xlsx')}</button>
          <button type="button" class="small" data-testid="heat-pdf" disabled=${st.busy || !s.records} onClick=${() => get('pdf')}>${t('heat.pdf')}</button>`}>
      <dl class="facts">
        <dt>${t('heat.device')}</dt><dd data-testid="heat-device">${[s.meter.make, s.meter.model].filter(Boolean).join(' ')}, ${t('heat.serial', { serial: s.meter.serial })}</dd>
        <dt>${t('heat.place')}</dt><dd>${s.meter.place ?? t('common.none')}</dd>
        <dt>${t('heat.source')}</dt><dd data-testid="heat-source">${s.source ? t(`heat.source.${s.source}`) : t('common.none')}</dd>
      </dl>
      ${st.error ? html`<${ErrorNote} error=${st.error} testid="heat-download-error" />` : null}
      <${SignOff} s=${s} me=${me} building=${building} period=${period} meter=${meter} onSigned=${reload} />
      <${Mail} s=${s} me=${me} building=${building} period=${period} onSent=${reload} />
    <//>
    ${s.signed_off ? html`<${Deliveries} s=${s} me=${me} building=${building} period=${period} reload=${reload} />` : null}
    ${s.records ? html`
      <${Card} title=${t('heat.days', { month: fmtMonthLong(period) })} testid="heat-days">
        <${DataTable} testid="heat-table" caption=${t('heat.days', { month: fmtMonthLong(period) })} className="data stack" columns=${cols}
          rows=${totals ? [...s.rows, totals] : s.rows} rowKey=${(r) => r.date ?? 'total'} rowTestid=${(r) => `heat-row-${r.date ?? 'total'}`}
          rowClass=${(r) => (r.date ? (r.ns ? 'ns-day' : null) : 'total')} />
      <//>
      <${Card} title=${t('heat.ns')} testid="heat-ns">
        <${DataTable} testid="heat-ns-table" className="data stack" caption=${t('heat.ns')} rows=${s.ns} rowKey=${(r) => r.from} rowTestid=${(r) => `heat-ns-${r.from}`}
          empty=${t('heat.noNs')} columns=${[
            { key: 'interval', label: t('heat.interval'), render: (r) => fmtInterval(r.from, r.to) },
            { key: 'reasons', label: t('heat.reasons'), render: (r) => nsText(r.reasons) },
            { key: 'calc', label: t('heat.calculated'), render: (r) => (r.calculation?.basis === 'mean_hourly'
              ? t('heat.calcMean', { hours: fmtNumber(r.calculation.off_seconds / 3600, 2), added: fmtNumber(r.calculation.added_kwh, 3), unit: unitLabel('kWh') })
              : r.calculation?.basis === 'none' ? t('heat.calcNone') : t('common.none')) },
          ]} />
      <//>`
      : html`<p class="note" role="status" data-testid="heat-empty">${t('heat.noRecords', { month: fmtMonthLong(period) })}</p>`}
    <p class="muted">${t('heat.zone', { zone: tz })}</p>`;
}

function HeatScreen({ me }) {
  const { state, buildings, building, setBuilding } = useChosenBuilding();
  const [query, setQuery] = useQuery();
  const tz = building?.timezone ?? 'Europe/Moscow';
  const thisMonth = localMonth(new Date(), tz);
  // The month handed over is the one just ended.
  const period = isMonth(query.period) ? query.period : shiftMonth(thisMonth, -1);
  const id = building?.id ?? null;
  // The building's heat meters: a choice only when there are several (the API then wants one named).
  const meters = useLoad(() => (id ? api(`/meters?${qs({ building_id: id, resource: 'heat', placement: 'building', limit: 100 })}`) : Promise.resolve([])), [id]);
  const list = meters.data ?? [];
  const meter = list.some((m) => String(m.id) === query.meter) ? Number(query.meter) : null;
  const stmt = useLoad(() => (id ? api(path(id, period, meter)) : Promise.resolve(null)), [id, period, meter]);
  const noMeter = stmt.error instanceof ApiError && stmt.error.status === 404 && id;
  const chooseMeter = stmt.error instanceof ApiError && stmt.error.status === 400 && list.length > 1 && meter === null;
  return html`<${Page} title=${t('heat.title')} testid="heat-page">
    <${Loaded} state=${state}>${() => (buildings.length ? html`
      <form class="filters" onSubmit=${(e) => e.preventDefault()}>
        <${BuildingSelect} buildings=${buildings} value=${id} onChange=${setBuilding} label=${t('heat.building')} testid="heat-building" />
        <${MonthPicker} label=${t('heat.period')} value=${period} max=${thisMonth} onChange=${(p) => setQuery({ period: p })} testid="heat-period" />
        ${list.length > 1 ? html`<label class="field"><span class="label">${t('heat.device')}</span>
          <select data-testid="heat-meter-select" value=${meter ?? stmt.data?.meter.id ?? ''} onChange=${(e) => setQuery({ meter: e.currentTarget.value })}>
            ${meter === null && !stmt.data ? html`<option value="">${t('heat.chooseOption')}</option>` : null}
            ${list.map((m) => html`<option value=${m.id}>${[m.make, m.model, m.serial_number].filter(Boolean).join(' ')}</option>`)}
          </select></label>` : null}
      </form>
      ${noMeter ? html`<p class="note" role="status" data-testid="heat-no-meter">${t('heat.noMeter')}</p>`
        : chooseMeter ? html`<p class="note" role="status" data-testid="heat-choose-meter">${t('heat.chooseMeter')}</p>`
        : html`<${Loaded} state=${stmt}>${(s) => (s ? html`<${Statement} s=${s} me=${me} building=${id} period=${period} meter=${meter} reload=${stmt.reload} />` : null)}<//>`}`
      : html`<p class="muted" data-testid="heat-no-buildings">${t('heat.noBuildings')}</p>`)}<//>
  <//>`;
}

const ru = {
  'nav.heat': 'Ведомость тепла',
  'heat.title': 'Ведомость учёта тепловой энергии',
  'heat.building': 'Дом',
  'heat.period': 'Месяц',
  'heat.meter': 'Узел учёта',
  'heat.device': 'Прибор',
  'heat.serial': 'зав. № {serial}',
  'heat.place': 'Место установки',
  'heat.source': 'Источник',
  'heat.source.daily': 'суточные записи архива прибора',
  'heat.source.hourly': 'часовые записи архива прибора, сложенные по суткам',
  'heat.source.mixed': 'суточные записи архива прибора; сутки без суточной записи — часовые, сложенные',
  'heat.xlsx': 'Скачать Excel',
  'heat.pdf': 'Скачать PDF',
  'heat.days': 'Суточные значения за {month}',
  'heat.date': 'Дата',
  'heat.total': 'Итого',
  'heat.tr': 'Тр',
  'heat.tns': 'Тнс',
  'heat.note': 'Отметки',
  'heat.noRecord': 'нет данных',
  'heat.nsMark': 'НС',
  'heat.nsCount': 'НС: {n}',
  'heat.calculatedMark': 'Q расчётное',
  'heat.ns': 'Нештатные ситуации (НС)',
  'heat.noNs': 'НС за месяц нет',
  'heat.interval': 'Интервал',
  'heat.reasons': 'Причины',
  'heat.calculated': 'Тепло за время НС',
  'heat.calcMean': 'за {hours} ч рассчитано по среднечасовому Q нормальной работы: +{added} {unit}',
  'heat.calcNone': 'не рассчитано: нет часов нормальной работы в предшествующие 3 суток',
  'heat.noRecords': 'За {month} нет архивных записей прибора: ведомость не составлена (нули не подставляются).',
  'heat.noMeter': 'В этом доме нет общедомового прибора учёта тепла.',
  'heat.chooseMeter': 'В доме несколько приборов учёта тепла с архивом за этот месяц: выберите прибор.',
  'heat.chooseOption': 'выберите прибор',
  'heat.noBuildings': 'Вам пока не открыт ни один дом: попросите администратора выдать доступ.',
  'heat.signed': 'Ведомость подписана: {who}, {when}',
  'heat.unsigned': 'Ведомость ещё не подписана.',
  'heat.changed': 'После подписания данные месяца изменились: итоги отличаются от подписанных.',
  'heat.sign': 'Подписать',
  'heat.alreadySigned': 'Ведомость за этот месяц уже подписана ({who}, {when}): месяц подписывают один раз.',
  'heat.nothingToSign': 'За этот месяц нет записей: подписывать нечего.',
  'heat.signConflict': 'Ведомость за этот месяц уже подписана: месяц подписывают один раз.',
  'heat.zone': 'Сутки и время — по часовому поясу дома ({zone}).',
  'heat.version': 'Версия {version}: заменяет версию {previous}, подписанную {who} {when}.',
  'heat.resign': 'Подписать исправленную ведомость (версия {version})',
  'heat.deliveries': 'Передача ведомости через обмен',
  'heat.noDeliveries': 'Ведомость ещё не передавалась через обмен.',
  'heat.deliveryConfig': 'Конфигурация',
  'heat.deliveryConfigText': '№ {id}: {location}',
  'heat.deliveryVersion': 'Версия',
  'heat.deliveryAttempts': 'Попытки',
  'heat.attemptsOf': '{n} из {max}',
  'heat.deliveryFiles': 'Файлы',
  'heat.deliveryError': 'Последняя ошибка',
  'heat.deliveryWhen': 'Когда',
  'heat.deliveredAt': 'доставлена {when}',
  'heat.deliveryRetry': 'не доставлена (попытка {when}), следующий запуск повторит',
  'heat.deliveryGaveUp': 'не доставлена: попытки исчерпаны (последняя {when})',
  'heat.sendAgain': 'Отправить снова',
  'heat.sendAgainReason': 'Причина повторной отправки',
  'heat.sendAgainHint': 'что исправлено (папка, пароль, сервер)',
  'heat.resent': 'отправлена снова: {who}, {when} — {reason}',
  'heat.mailSent': 'Отправлена по e-mail ({to}): {when}',
  'heat.mailWaiting': 'Будет отправлена по e-mail ({to}) ближайшим запуском рассылки.',
  'heat.mailRetry': 'Не отправлена по e-mail ({to}): попытка {n} из {max}, следующий запуск повторит.',
  'heat.mailGaveUp': 'Не отправлена по e-mail ({to}): попытки исчерпаны ({n} из {max}).',
  'heat.mailTo': 'Адреса поставщика (через запятую)',
};

/** @type {typeof ru} */
const en = {
  'nav.heat': 'Heat statement',
  'heat.title': 'Heat metering statement',
  'heat.building': 'Building',
  'heat.period': 'Month',
  'heat.meter': 'Metering point',
  'heat.device': 'Meter',
  'heat.serial': 'serial no. {serial}',
  'heat.place': 'Installed at',
  'heat.source': 'Source',
  'heat.source.daily': 'the meter\u2019s daily archive records',
  'heat.source.hourly': 'the meter\u2019s hourly archive records summed by day',
  'heat.source.mixed': 'the meter\u2019s daily archive records; days without one from its hourly records summed',
  'heat.xlsx': 'Download Excel',
  'heat.pdf': 'Download PDF',
  'heat.days': 'Daily values for {month}',
  'heat.date': 'Date',
  'heat.total': 'Total',
  'heat.tr': 'Tw',
  'heat.tns': 'Tns',
  'heat.note': 'Marks',
  'heat.noRecord': 'no data',
  'heat.nsMark': 'abnormal',
  'heat.nsCount': 'abnormal: {n}',
  'heat.calculatedMark': 'Q calculated',
  'heat.ns': 'Abnormal situations',
  'heat.noNs': 'No abnormal situations this month',
  'heat.interval': 'Interval',
  'heat.reasons': 'Reasons',
  'heat.calculated': 'Heat of the abnormal time',
  'heat.calcMean': 'for {hours} h calculated from the mean hourly Q of normal operation: +{added} {unit}',
  'heat.calcNone': 'not calculated: no hours of normal operation in the 3 days before',
  'heat.noRecords': 'No archive records of the meter for {month}: no statement (no zeros put in).',
  'heat.noMeter': 'This building has no building heat meter.',
  'heat.chooseMeter': 'The building has several heat meters with archive records this month: choose one.',
  'heat.chooseOption': 'choose a meter',
  'heat.noBuildings': 'No building is open to you yet: ask an administrator for access.',
  'heat.signed': 'Statement signed off: {who}, {when}',
  'heat.unsigned': 'The statement is not signed off yet.',
  'heat.changed': 'The month\u2019s data changed after the sign-off: the totals differ from those signed.',
  'heat.sign': 'Sign off',
  'heat.alreadySigned': 'This month\u2019s statement is signed off already ({who}, {when}): a month is signed once.',
  'heat.nothingToSign': 'No records this month: nothing to sign off.',
  'heat.signConflict': 'This month\u2019s statement is signed off already: a month is signed once.',
  'heat.zone': 'Days and times in the building\u2019s time zone ({zone}).',
  'heat.version': 'Version {version}: replaces version {previous}, signed off by {who} {when}.',
  'heat.resign': 'Sign the corrected statement (version {version})',
  'heat.deliveries': 'Deliveries through the exchange',
  'heat.noDeliveries': 'The statement has not been delivered through the exchange yet.',
  'heat.deliveryConfig': 'Configuration',
  'heat.deliveryConfigText': 'No. {id}: {location}',
  'heat.deliveryVersion': 'Version',
  'heat.deliveryAttempts': 'Attempts',
  'heat.attemptsOf': '{n} of {max}',
  'heat.deliveryFiles': 'Files',
  'heat.deliveryError': 'Last error',
  'heat.deliveryWhen': 'When',
  'heat.deliveredAt': 'delivered {when}',
  'heat.deliveryRetry': 'not delivered (attempt {when}); the next run retries',
  'heat.deliveryGaveUp': 'not delivered: attempts used up (last {when})',
  'heat.sendAgain': 'Send again',
  'heat.sendAgainReason': 'Why it is sent again',
  'heat.sendAgainHint': 'what was fixed (folder, password, server)',
  'heat.resent': 'sent again: {who}, {when} — {reason}',
  'heat.mailSent': 'Mailed ({to}): {when}',
  'heat.mailWaiting': 'To be mailed ({to}) by the next mail run.',
  'heat.mailRetry': 'Not mailed ({to}): attempt {n} of {max}; the next run retries.',
  'heat.mailGaveUp': 'Not mailed ({to}): attempts used up ({n} of {max}).',
  'heat.mailTo': 'Heat supplier\'s addresses (comma-separated)',
};

export const heatScreen = {
  id: 'heat',
  messages: { ru, en },
  routes: [{ path: '/heat', component: HeatScreen, roles: ROLES }],
  nav: [{ href: '/heat', key: 'nav.heat', roles: ROLES }],
};
