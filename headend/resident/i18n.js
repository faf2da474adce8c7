/**
 * Russian and English for the residents' page: two dictionaries with the same keys (a module test
 * checks it). Every label and every explained API refusal comes from here. Kept apart from the
 * engineers' dashboard's dictionaries: residents speak of "счётчики", engineers of "ИПУ".
 */
/* global navigator */

const ru = {
  'app.title': 'Показания счётчиков',
  'lang.switch': 'EN',
  'lang.switchTitle': 'Switch to English',
  'nav.meters': 'Счётчики',
  'nav.history': 'История',
  'nav.signOut': 'Выйти',

  'signin.title': 'Вход для жильцов',
  'signin.lead': 'Введите номер лицевого счёта и одноразовый код из квитанции или от управляющей компании.',
  'signin.account': 'Номер лицевого счёта',
  'signin.code': 'Код доступа',
  'signin.submit': 'Войти',
  'signin.busy': 'Вход…',
  'signin.failed': 'Неверный номер счёта или код, либо код уже использован или истёк. Попросите новый код в управляющей компании.',
  'signin.locked': 'Слишком много неудачных попыток. Попробуйте снова через {minutes} мин.',
  'signin.invite': 'Входим по ссылке-приглашению…',

  'widget.open': '{submitted} из {total} {meters}, до {due}',
  'widget.done': 'Показания переданы ({submitted} из {total})',
  'widget.closed': 'Приём откроется через {days} {dayWord} ({date})',
  'widget.closedToday': 'Приём откроется сегодня',
  'widget.none': 'Приём показаний сейчас не ведётся',
  'widget.meter.one': 'счётчика',
  'widget.meter.few': 'счётчиков',
  'widget.meter.many': 'счётчиков',
  'widget.meter.other': 'счётчиков',
  'widget.day.one': 'день',
  'widget.day.few': 'дня',
  'widget.day.many': 'дней',
  'widget.day.other': 'дня',

  'meters.title': 'Мои счётчики',
  'meters.empty': 'К вашему лицевому счёту не привязано ни одного счётчика.',
  'meters.serial': '№ {serial}',
  'meters.last': 'Последнее показание: {value} {unit} за {date}',
  'meters.lastNone': 'Показаний пока нет',
  'meters.submittedAt': 'передано {time}',
  'meters.input': 'Новое показание, {unit}',
  'meters.closed': 'Приём закрыт, откроется {date}',
  'meters.disabled': 'Показания по этому счётчику не принимаются',
  'meters.verification': 'Поверка до {date}',
  'meters.rename': 'Переименовать',
  'meters.labelInput': 'Своё название счётчика',
  'meters.labelSave': 'Сохранить',
  'meters.labelCancel': 'Отмена',
  'meters.submit': 'Передать показания',
  'meters.submitBusy': 'Отправка…',
  'meters.nothing': 'Введите хотя бы одно показание.',
  'meters.refused': 'Показания не приняты, исправьте отмеченные поля.',
  'meters.savedAt': 'Показания сохранены {time}',
  'meters.savedMeter': 'Сохранено: {value} {unit}, {time}',
  'meters.confirmTitle': 'Расход намного больше обычного',
  'meters.confirmLead': 'Проверьте показания. Если всё верно, подтвердите отправку.',
  'meters.confirm': 'Подтвердить',
  'meters.fix': 'Исправить',

  'history.title': 'История по месяцам',
  'history.empty': 'Показаний за последние 12 месяцев нет.',
  'history.month': 'Месяц',
  'history.value': 'Показание',
  'history.consumption': 'Расход',
  'history.noConsumption': 'Расход появится, когда будут показания за два месяца.',

  'err.empty': 'Введите показание',
  'err.notNumber': 'Введите число, например 123,45',
  'err.negative': 'Показание не может быть отрицательным',
  'err.integerOnly': 'Для этого счётчика принимаются только целые числа',
  'err.belowPrevious': 'Показание {value} меньше предыдущего ({previous})',
  'err.windowClosed': 'Приём показаний закрыт: был с {lastStart} по {lastEnd}, следующий откроется {opensOn}',
  'err.verificationExpired': 'Срок поверки истёк {date}: показания этого счётчика не принимаются, обратитесь в управляющую компанию',
  'err.disabled': 'Показания по этому ресурсу в вашем доме не принимаются',
  'err.twice': 'Счётчик указан дважды',
  'err.takenByStaff': 'Показание за этот период уже снято управляющей компанией ({value}). Если не согласны, обратитесь в управляющую компанию',
  'err.inactive': 'Счётчик выведен из учёта',
  'warn.high': 'Расход {consumption} {unit} более чем в {factor} раза превышает средний за 3 месяца ({average} {unit} в месяц)',

  'common.loading': 'Загрузка…',
  'common.error': 'Ошибка',
  'common.none': '—',
  'common.sessionEnded': 'Сеанс завершён, войдите снова.',

  'resource.heat': 'Отопление',
  'resource.hot_water': 'Горячая вода',
  'resource.cold_water': 'Холодная вода',
  'resource.wastewater': 'Водоотведение',
  'resource.electricity': 'Электроэнергия',
  'resource.gas': 'Газ',
  'unit.m3': 'м³',
  'unit.kwh': 'кВт·ч',
};

const en = {
  'app.title': 'Meter readings',
  'lang.switch': 'RU',
  'lang.switchTitle': 'Переключить на русский',
  'nav.meters': 'Meters',
  'nav.history': 'History',
  'nav.signOut': 'Sign out',

  'signin.title': 'Residents sign in',
  'signin.lead': 'Enter your personal account number and the one-time code from your bill or your managing company.',
  'signin.account': 'Account number',
  'signin.code': 'Access code',
  'signin.submit': 'Sign in',
  'signin.busy': 'Signing in…',
  'signin.failed': 'Wrong account number or code, or the code was used or has expired. Ask your managing company for a new code.',
  'signin.locked': 'Too many failed attempts. Try again in {minutes} min.',
  'signin.invite': 'Signing in with your invite link…',

  'widget.open': '{submitted} of {total} {meters} submitted, due by {due}',
  'widget.done': 'Readings submitted ({submitted} of {total})',
  'widget.closed': 'Submission opens in {days} {dayWord} ({date})',
  'widget.closedToday': 'Submission opens today',
  'widget.none': 'Readings are not being collected now',
  'widget.meter.one': 'meter',
  'widget.meter.few': 'meters',
  'widget.meter.many': 'meters',
  'widget.meter.other': 'meters',
  'widget.day.one': 'day',
  'widget.day.few': 'days',
  'widget.day.many': 'days',
  'widget.day.other': 'days',

  'meters.title': 'My meters',
  'meters.empty': 'No meters are linked to your account.',
  'meters.serial': 'No. {serial}',
  'meters.last': 'Last reading: {value} {unit} for {date}',
  'meters.lastNone': 'No readings yet',
  'meters.submittedAt': 'submitted {time}',
  'meters.input': 'New reading, {unit}',
  'meters.closed': 'Submission closed; opens {date}',
  'meters.disabled': 'Readings of this meter are not accepted',
  'meters.verification': 'Verification due {date}',
  'meters.rename': 'Rename',
  'meters.labelInput': 'Your name for this meter',
  'meters.labelSave': 'Save',
  'meters.labelCancel': 'Cancel',
  'meters.submit': 'Submit readings',
  'meters.submitBusy': 'Sending…',
  'meters.nothing': 'Enter at least one reading.',
  'meters.refused': 'Readings not accepted; correct the marked fields.',
  'meters.savedAt': 'Readings saved {time}',
  'meters.savedMeter': 'Saved: {value} {unit}, {time}',
  'meters.confirmTitle': 'Consumption is much higher than usual',
  'meters.confirmLead': 'Check the readings. If they are right, confirm to send them.',
  'meters.confirm': 'Confirm',
  'meters.fix': 'Correct',

  'history.title': 'History by month',
  'history.empty': 'No readings in the last 12 months.',
  'history.month': 'Month',
  'history.value': 'Reading',
  'history.consumption': 'Consumption',
  'history.noConsumption': 'Consumption shows once there are readings for two months.',

  'err.empty': 'Enter a reading',
  'err.notNumber': 'Enter a number, e.g. 123.45',
  'err.negative': 'A reading cannot be negative',
  'err.integerOnly': 'Only whole numbers are accepted for this meter',
  'err.belowPrevious': 'Reading {value} is less than the previous one ({previous})',
  'err.windowClosed': 'Submission is closed: it was open {lastStart} – {lastEnd}, next opens {opensOn}',
  'err.verificationExpired': 'Verification expired on {date}: readings of this meter are not accepted, contact your managing company',
  'err.disabled': 'Readings of this resource are not collected in your building',
  'err.twice': 'The meter is given twice',
  'err.takenByStaff': 'This period\'s reading was already taken by your managing company ({value}). To dispute it, contact them',
  'err.inactive': 'The meter is no longer in use',
  'warn.high': 'Consumption {consumption} {unit} is more than {factor}× the 3-month average ({average} {unit} a month)',

  'common.loading': 'Loading…',
  'common.error': 'Error',
  'common.none': '—',
  'common.sessionEnded': 'Your session has ended; please sign in again.',

  'resource.heat': 'Heating',
  'resource.hot_water': 'Hot water',
  'resource.cold_water': 'Cold water',
  'resource.wastewater': 'Wastewater',
  'resource.electricity': 'Electricity',
  'resource.gas': 'Gas',
  'unit.m3': 'm³',
  'unit.kwh': 'kWh',
};

export const DICTIONARIES = { ru, en };
export const LANGUAGES = /** @type {const} */ (['ru', 'en']);
export const STORAGE_KEY = 'amr.resident.lang';

let current = 'en';

/** Remembered choice first, then the browser's language; Russian for ru/uk/be, English otherwise. */
export function initialLanguage(stored, browserLanguage) {
  if (stored && stored in DICTIONARIES) return stored;
  return /^(ru|uk|be)\b/i.test(browserLanguage || '') ? 'ru' : 'en';
}

export function initLanguage() {
  current = initialLanguage(window.localStorage.getItem(STORAGE_KEY), navigator.language);
  document.documentElement.lang = current;
  return current;
}

/** Switches the language; `persist: false` only switches (the module tests have no DOM). */
export function setLanguage(lang, { persist = true } = {}) {
  if (!(lang in DICTIONARIES)) throw new Error(`unknown language "${lang}" (known: ${LANGUAGES.join(', ')})`);
  current = lang;
  if (!persist) return;
  window.localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang;
}

export const language = () => current;
export const locale = () => (current === 'ru' ? 'ru-RU' : 'en-GB');

/** The label for a key with {name} placeholders filled; the key itself when no dictionary has it. */
export function t(key, params) {
  const text = DICTIONARIES[current][key] ?? DICTIONARIES.en[key] ?? key;
  return params ? text.replace(/\{(\w+)\}/g, (_, k) => String(params[k] ?? '')) : text;
}

/** The plural form of a counted word (`widget.day.few` for 2 in Russian, …). */
export function plural(word, n) {
  return t(`${word}.${new Intl.PluralRules(locale()).select(n)}`);
}
