/**
 * The one catalogue of the server's error texts for people, in Russian and English: `error.<code>` for
 * every code the head-end puts in an error body (top-level `code`) or in a refusal's detail
 * (`details[].code`), worded from the detail's `params` (value, previous, unit, serial, zone, dates…).
 * Both pages use it — the console (dashboard/ui/components.js, screens/entry/) and the residents' page —
 * so a refusal reads the same wherever it is met, and never shows the server's English or an internal id.
 *
 * Texts do not name the meter: a page shows them under the meter's own field. Where a list of refusals
 * stands apart from the meters (the console's error note), `detailText(…, { withMeter: true })` puts
 * "Счётчик № <serial>, <zone>:" before it. A module test checks every code the server can send has a
 * text in both languages (test/api/error-catalogue.test.ts).
 *
 * Placeholders are {name}; a page's i18n (web-shared/i18n.js) adds these with addMessages().
 */

const ru = {
  // ---- the error as a whole (top-level code) ----
  'error.validation': 'Проверьте выделенные поля.',
  'error.bad_request': 'Запрос не принят.',
  'error.invalid': 'Недопустимое значение.',
  'error.not_found': 'Не найдено, или у вас нет доступа.',
  'error.conflict': 'Конфликт с уже сохранёнными данными.',
  'error.duplicate': 'Такая запись уже есть.',
  'error.in_use': 'Нельзя удалить: на запись ещё ссылаются другие данные.',
  'error.unknown_reference': 'Ссылка на несуществующую запись.',
  'error.forbidden': 'Недостаточно прав для этого действия.',
  'error.unauthorized': 'Войдите снова: сеанс завершён или данные для входа неверны.',
  'error.too_many_requests': 'Слишком много неудачных попыток. Попробуйте снова через {minutes} мин.',
  'error.confirmation_required': 'Проверьте значения и подтвердите их.',
  'error.unavailable': 'Служба временно недоступна, повторите позже.',
  'error.payload_too_large': 'Файл или запрос слишком большой.',
  'error.unsupported_media_type': 'Неподдерживаемый формат данных.',
  'error.internal': 'Внутренняя ошибка сервера. Повторите позже или сообщите администратору.',

  // ---- a reading refused (src/readings/judge.ts, write.ts) ----
  'error.window_closed': 'Приём показаний закрыт: был с {last_start} по {last_end}, следующий откроется {opens_on}',
  'error.window_closed_now': 'Приём показаний сейчас закрыт (принимаются с {start_day} по {end_day} число)',
  'error.outside_window': 'Показание за {date} вне окна приёма ({start_day}–{end_day} число): нужно право вводить показания вне окна',
  'error.disabled': 'Показания по этому ресурсу в доме не принимаются',
  'error.inactive': 'Счётчик выведен из учёта',
  'error.verification_expired': 'Срок поверки истёк {date}: показания этого счётчика не принимаются, обратитесь в управляющую компанию',
  'error.future': 'Дата показания {time} ещё не наступила',
  'error.implausible_date': 'Недопустимая дата показания {time}: проверьте год',
  'error.taken_too_long_ago': 'Показание снято {time} — больше чем за {hours} ч до отправки: введите его заново',
  'error.before_installation': 'Дата {date} раньше установки счётчика ({installed_on})',
  'error.after_removal': 'Дата {date} позже снятия счётчика ({removed_on})',
  'error.not_a_number': 'Показание не может быть отрицательным',
  'error.not_integer': 'Для этого счётчика принимаются только целые числа',
  'error.too_many_digits': 'Число {value} не помещается в {digits} разрядов счётчика, проверьте показание',
  'error.below_previous': 'Показание {value} меньше предыдущего ({previous})',
  'error.above_next': 'Показание {value} больше следующего ({next})',
  'error.taken_by_staff': 'Показание за этот период уже снято управляющей компанией ({value}). Если не согласны, обратитесь в управляющую компанию',
  'error.replacement_reading': 'Это показание записано при замене счётчика: исправляется только через замену',
  'error.zone': 'Неверная тарифная зона',
  'error.duplicate_reading': 'Счётчик указан дважды',
  'error.zone_required': 'Счётчик многотарифный: введите показание каждой зоны (день, ночь) отдельно',
  'error.zone_not_applicable': 'У счётчика один тариф: показание вводится без зоны',
  'error.zone_unknown': 'У счётчика нет зоны {zone}',
  'error.meter_not_found': 'Счётчик не найден или недоступен',
  // ---- values to confirm (409 confirmation_required) ----
  'error.rollover': 'Показание {value} меньше предыдущего ({previous}): если счётчик прошёл через ноль, расход {consumption} {unit}',
  'error.rollover_next': 'Показание {value} больше следующего ({next}): это был бы переход счётчика через ноль',
  'error.first_reading_high': 'Первое показание {value} {unit} больше, чем могло набежать с установки (около {limit} {unit})',
  'error.high_consumption': 'Расход {consumption} {unit} более чем в {factor} раза превышает средний за 3 месяца ({average} {unit} в месяц)',

  // ---- a form field refused by the schema (zod issue codes; src/http/plugins/errors.ts) ----
  'error.invalid_type': 'Неверный тип значения',
  'error.too_short': 'Слишком коротко: не меньше {minimum} символов',
  'error.too_long': 'Слишком длинно: не больше {maximum} символов',
  'error.too_few': 'Нужно не меньше {minimum} элементов',
  'error.too_many': 'Допускается не больше {maximum} элементов',
  'error.too_small': 'Значение должно быть не меньше {minimum}',
  'error.too_big': 'Значение должно быть не больше {maximum}',
  'error.invalid_format': 'Неверный формат',
  'error.invalid_value': 'Недопустимое значение; возможные: {values}',
  'error.unrecognized_keys': 'Неизвестные поля: {keys}',
  'error.not_multiple_of': 'Значение должно быть кратно {divisor}',
  'error.invalid_union': 'Значение не подходит ни под один из допустимых вариантов',
  'error.invalid_key': 'Недопустимый ключ',
  'error.invalid_element': 'Недопустимый элемент',
  'error.custom': 'Недопустимое значение',

  // ---- words the texts are built from ----
  'error.meter': 'Счётчик № {serial}',
  'error.meterZone': 'Счётчик № {serial}, {zone}',
  'error.zone.1': 'день',
  'error.zone.2': 'ночь',
  'error.zone.3': 'пик',
  'error.unit.m3': 'м³',
  'error.unit.kwh': 'кВт·ч',
  'error.unit.gcal': 'Гкал',
};

const en = {
  'error.validation': 'Check the marked fields.',
  'error.bad_request': 'The request was not accepted.',
  'error.invalid': 'A value is not allowed.',
  'error.not_found': 'Not found, or you have no access to it.',
  'error.conflict': 'Conflicts with what is already saved.',
  'error.duplicate': 'Such a record already exists.',
  'error.in_use': 'Cannot be deleted: other records still refer to it.',
  'error.unknown_reference': 'Refers to a record that does not exist.',
  'error.forbidden': 'You have no right to do this.',
  'error.unauthorized': 'Sign in again: the session has ended or the sign-in details are wrong.',
  'error.too_many_requests': 'Too many failed attempts. Try again in {minutes} min.',
  'error.confirmation_required': 'Check the values and confirm them.',
  'error.unavailable': 'The service is unavailable for now; try again later.',
  'error.payload_too_large': 'The file or request is too large.',
  'error.unsupported_media_type': 'This data format is not supported.',
  'error.internal': 'Internal server error. Try again later or tell the administrator.',

  'error.window_closed': 'Submission is closed: it was open {last_start} – {last_end}, next opens {opens_on}',
  'error.window_closed_now': 'Submission is closed now (readings are taken on days {start_day}–{end_day})',
  'error.outside_window': 'A reading of {date} is outside the collection window (days {start_day}–{end_day}): entering it needs the right to enter outside the window',
  'error.disabled': 'Readings of this resource are not collected in this building',
  'error.inactive': 'The meter is no longer in use',
  'error.verification_expired': 'Verification expired on {date}: readings of this meter are not accepted, contact your managing company',
  'error.future': 'The reading\'s date {time} is in the future',
  'error.implausible_date': '{time} is not a plausible date of a reading: check the year',
  'error.taken_too_long_ago': 'Taken at {time}, more than {hours} h before it was sent: enter the reading again',
  'error.before_installation': '{date} is before the meter was installed ({installed_on})',
  'error.after_removal': '{date} is after the meter was removed ({removed_on})',
  'error.not_a_number': 'A reading cannot be negative',
  'error.not_integer': 'Only whole numbers are accepted for this meter',
  'error.too_many_digits': '{value} does not fit the meter\'s {digits} digits; check the reading',
  'error.below_previous': 'Reading {value} is less than the previous one ({previous})',
  'error.above_next': 'Reading {value} is more than the next one ({next})',
  'error.taken_by_staff': 'This period\'s reading was already taken by your managing company ({value}). To dispute it, contact them',
  'error.replacement_reading': 'This reading was recorded by a meter replacement: correct it through the replacement',
  'error.zone': 'Wrong tariff zone',
  'error.duplicate_reading': 'The meter is given twice',
  'error.zone_required': 'This is a multi-rate meter: enter the reading of each zone (day, night) separately',
  'error.zone_not_applicable': 'The meter has one register: give its reading without a zone',
  'error.zone_unknown': 'The meter has no zone {zone}',
  'error.meter_not_found': 'Meter not found or not accessible',
  'error.rollover': 'Reading {value} is below the previous one ({previous}): if the meter went past zero, consumption is {consumption} {unit}',
  'error.rollover_next': 'Reading {value} is above the next one ({next}): that would be the meter going past zero',
  'error.first_reading_high': 'First reading {value} {unit} is more than could have been used since installation (about {limit} {unit})',
  'error.high_consumption': 'Consumption {consumption} {unit} is more than {factor}× the 3-month average ({average} {unit} a month)',

  'error.invalid_type': 'Wrong type of value',
  'error.too_short': 'Too short: at least {minimum} characters',
  'error.too_long': 'Too long: at most {maximum} characters',
  'error.too_few': 'At least {minimum} items are needed',
  'error.too_many': 'At most {maximum} items are allowed',
  'error.too_small': 'The value must be at least {minimum}',
  'error.too_big': 'The value must be at most {maximum}',
  'error.invalid_format': 'Wrong format',
  'error.invalid_value': 'Not an allowed value; allowed: {values}',
  'error.unrecognized_keys': 'Unknown fields: {keys}',
  'error.not_multiple_of': 'The value must be a multiple of {divisor}',
  'error.invalid_union': 'The value fits none of the allowed forms',
  'error.invalid_key': 'Not an allowed key',
  'error.invalid_element': 'Not an allowed element',
  'error.custom': 'Not an allowed value',

  'error.meter': 'Meter No. {serial}',
  'error.meterZone': 'Meter No. {serial}, {zone}',
  'error.zone.1': 'day',
  'error.zone.2': 'night',
  'error.zone.3': 'peak',
  'error.unit.m3': 'm³',
  'error.unit.kwh': 'kWh',
  'error.unit.gcal': 'Gcal',
};

export const ERROR_TEXTS = { ru, en };

/**
 * A detail's code as the catalogue keys it. 'duplicate' means two things: a record that exists (a
 * database constraint, top level) and a meter given twice in one submission (a reading's detail).
 */
const keyOf = (code, isReading) => (isReading && code === 'duplicate' ? 'error.duplicate_reading' : `error.${code}`);

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T/;

/**
 * The params as the user's language writes them: numbers with its separators, calendar days
 * (YYYY-MM-DD) and instants as dates, the unit and the tariff zone in words.
 * `i18n` is the page's { t, locale }.
 */
export function formatParams(params, { t, locale }) {
  const out = {};
  const loc = locale();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v == null) out[k] = '';
    else if (k === 'unit') out[k] = t(`error.unit.${v}`);
    else if (k === 'zone') out[k] = t(`error.zone.${v}`);
    else if (typeof v === 'number' && !/_day$|^digits$|^minutes$|^zones?$/.test(k)) out[k] = new Intl.NumberFormat(loc, { maximumFractionDigits: 3 }).format(v);
    else if (typeof v === 'string' && DAY.test(v)) {
      const [y, m, d] = v.split('-').map(Number);
      out[k] = new Intl.DateTimeFormat(loc, { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
    } else if (typeof v === 'string' && INSTANT.test(v)) {
      out[k] = new Intl.DateTimeFormat(loc, { day: '2-digit', month: '2-digit', year: 'numeric' }).format(new Date(v));
    } else out[k] = String(v);
  }
  return out;
}

/** The text of a code with its params, or null when the catalogue has none (the caller falls back). */
export function codeText(code, params, i18n, { isReading = false } = {}) {
  if (!code) return null;
  const key = keyOf(code, isReading);
  if (!i18n.has(key)) return null;
  const p = formatParams(params, i18n);
  // A window closed before it ever opened has no "last" dates: say only that it is closed.
  if (code === 'window_closed' && !params?.opens_on) return i18n.t('error.window_closed_now', p);
  return i18n.t(key, p);
}

/**
 * One detail of an error body ({ code, params, message, path }) in the user's language; null when it
 * has no code the catalogue knows. `withMeter`: name the meter (serial, zone) before the text, for lists
 * shown apart from the meters.
 */
export function detailText(detail, i18n, { withMeter = false } = {}) {
  const isReading = detail?.params && 'serial' in detail.params;
  const text = codeText(detail?.code, detail?.params, i18n, { isReading });
  if (text === null) return null;
  const serial = detail.params?.serial;
  if (!withMeter || !serial) return text;
  const p = formatParams({ serial, zone: detail.params.zone }, i18n);
  return `${i18n.t(detail.params.zone ? 'error.meterZone' : 'error.meter', p)}: ${text}`;
}
