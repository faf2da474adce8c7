/**
 * Russian and English for the residents' page: two dictionaries with the same keys (a module test
 * checks it). Every label comes from here; the API's refusals are worded by the one catalogue of error
 * texts (web-shared/errors.js), added below. Kept apart from the
 * engineers' dashboard's dictionaries: residents speak of "счётчики", engineers of "ИПУ".
 */
import { createI18n, LANGUAGES } from '../web-shared/i18n.js';
import { ERROR_TEXTS } from '../web-shared/errors.js';

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
  'meters.lastZones': 'Последние показания за {date}',
  'meters.inputZone': '{zone}, {unit}',
  'meters.zoneLast': 'было {value} {unit} за {date}',
  'meters.zoneLastNone': 'показаний этой зоны ещё нет',
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
  'meters.offlineWith': 'Нет связи: показания не отправлены, введённое осталось на странице. Отправьте ещё раз, когда появится связь. ({message})',
  'meters.savedAt': 'Показания сохранены {time}',
  'meters.savedMeter': 'Сохранено: {value} {unit}, {time}',
  'meters.confirmTitle': 'Проверьте показания',
  'meters.confirmLead': 'Под счётчиком написано, что в показании необычно (большой расход, переход через ноль). Если всё верно, подтвердите отправку.',
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
  'err.zoneMissing': 'Введите и это показание: многотарифный счётчик передаётся по всем зонам сразу',

  'common.loading': 'Загрузка…',
  'common.error': 'Ошибка',
  'common.errorWith': 'Ошибка: {message}',
  'common.none': '—',
  'common.sessionEnded': 'Сеанс завершён, войдите снова.',

  // Tariff zones of an electricity meter (registers energy_t1_kwh, _t2, _t3).
  'zone.1': 'День',
  'zone.2': 'Ночь',
  'zone.3': 'Пик',

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
  'meters.lastZones': 'Last readings for {date}',
  'meters.inputZone': '{zone}, {unit}',
  'meters.zoneLast': 'was {value} {unit} for {date}',
  'meters.zoneLastNone': 'no readings of this zone yet',
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
  'meters.offlineWith': 'No connection: the readings were not sent and stay on the page. Send them again once you are connected. ({message})',
  'meters.savedAt': 'Readings saved {time}',
  'meters.savedMeter': 'Saved: {value} {unit}, {time}',
  'meters.confirmTitle': 'Check the readings',
  'meters.confirmLead': 'What is unusual (a large consumption, the meter passing zero) is written under the meter. If the readings are right, confirm to send them.',
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
  'err.zoneMissing': 'Enter this reading too: a multi-rate meter is submitted for all its zones at once',

  'common.loading': 'Loading…',
  'common.error': 'Error',
  'common.errorWith': 'Error: {message}',
  'common.none': '—',
  'common.sessionEnded': 'Your session has ended; please sign in again.',

  'zone.1': 'Day',
  'zone.2': 'Night',
  'zone.3': 'Peak',

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
export { LANGUAGES };
export const STORAGE_KEY = 'amr.resident.lang';

export const { initialLanguage, initLanguage, setLanguage, language, locale, t, tc, has, addMessages, onLanguage } = createI18n(DICTIONARIES, STORAGE_KEY);
// The server's refusals by code, worded the same as on the console (web-shared/errors.js).
addMessages(ERROR_TEXTS);

/** The plural form of a counted word (`widget.day.few` for 2 in Russian, …). */
export function plural(word, n) {
  return t(`${word}.${new Intl.PluralRules(locale()).select(n)}`);
}
