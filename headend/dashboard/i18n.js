/**
 * Two dictionaries, one per language, with the same keys. Every label the dashboard shows comes from
 * here, including the machine codes the API returns (statuses, validation reasons, resources), so a
 * missing translation shows up as the raw key in both languages and is easy to spot.
 */
/* global navigator */

const ru = {
  'app.title': 'Небаланс и приборы учёта',
  'app.subtitle': 'ОДПУ против Σ ИПУ',
  'nav.buildings': 'Дома',
  'nav.logout': 'Выйти',
  'lang.switch': 'EN',
  'lang.switchTitle': 'Switch to English',

  'login.title': 'Вход для инженеров',
  'login.username': 'Логин',
  'login.password': 'Пароль',
  'login.submit': 'Войти',
  'login.failed': 'Неверный логин или пароль',
  'login.resident': 'Это страница для инженеров. Показания своей квартиры передавайте через личный кабинет жильца.',
  'login.forbidden': 'У вашей роли нет доступа к этой странице.',

  'common.loading': 'Загрузка…',
  'common.none': '—',
  'common.error': 'Ошибка',
  'common.unavailable': 'Сервис пока недоступен',
  'common.back': '← Назад',
  'common.all': 'Все',
  'common.month': 'Месяц',
  'common.from': 'С',
  'common.to': 'По',
  'common.resource': 'Ресурс',
  'common.apply': 'Показать',
  'common.empty': 'Нет данных',

  'buildings.title': 'Дома',
  'buildings.address': 'Адрес',
  'buildings.gateways': 'Шлюзы на связи',
  'buildings.lastSeen': 'Последний сеанс',
  'buildings.silent': 'Молчат (дист.)',
  'buildings.alerts': 'Открытые тревоги',
  'buildings.flagged': 'Сомнительные показания',
  'buildings.imbalance': 'Небаланс {resource}',

  'building.title': 'Дом',
  'building.chartImbalance': 'ОДПУ vs Σ ИПУ',
  'building.chartDaily': 'Суточное потребление ОДПУ',
  'building.chartHeat': 'Параметры теплоносителя',
  'building.month': 'Месяц',
  'building.odpu': 'ОДПУ',
  'building.sumIpu': 'Σ ИПУ',
  'building.other': 'Прочие (МОП, нежилые)',
  'building.imbalance': 'Небаланс',
  'building.imbalancePct': 'Небаланс, %',
  'building.coverage': 'Охват ИПУ',
  'building.status': 'Статус',
  'building.consumption': 'Потребление',
  'building.meters': 'Приборы учёта',
  'building.gateways': 'Шлюзы',
  'building.alerts': 'Открытые тревоги',
  'building.noOdpu': 'В доме нет ОДПУ по этому ресурсу',
  'building.noHeatParams': 'Параметры теплоносителя есть только у тепловых ОДПУ',
  'building.recompute': 'Пересчитать',
  'building.flagged': 'Показания, ждущие решения инженера',

  'meter.serial': 'Заводской №',
  'meter.placement': 'Размещение',
  'meter.premise': 'Помещение',
  'meter.lastReading': 'Последнее показание',
  'meter.lastTime': 'Время',
  'meter.verdict': 'Проверка',
  'meter.reasons': 'Причины',
  'meter.flagged': 'Ждут решения',
  'meter.title': 'Прибор учёта',
  'meter.readings': 'Показания',
  'meter.time': 'Время',
  'meter.value': 'Значение',
  'meter.version': 'Версия',
  'meter.source': 'Источник',
  'meter.history': 'Кто, когда, почему',
  'meter.actions': 'Действия',
  'meter.accept': 'Принять',
  'meter.reject': 'Отклонить',
  'meter.correct': 'Исправить',
  'meter.reason': 'Причина',
  'meter.newValue': 'Новое значение',
  'meter.submit': 'Сохранить',
  'meter.cancel': 'Отмена',
  'meter.reasonRequired': 'Укажите причину (не короче 3 символов)',
  'meter.valueRequired': 'Укажите новое значение',
  'meter.saved': 'Сохранено',
  'meter.correctedBy': 'исправил(а) {who} {when}: {why}',
  'meter.enteredBy': 'внёс(ла) {who} {when}: {why}',
  'meter.reviewedBy': '{decision}: {who} {when}: {why}',
  'meter.superseded': 'заменено исправлением',
  'meter.building': 'Дом',

  'gateway.id': 'Шлюз',
  'gateway.online': 'На связи',
  'gateway.offline': 'Нет связи',
  'gateway.lastSeen': 'Последний сеанс',
  'gateway.outbox': 'Очередь отправки',

  'alert.severity': 'Важность',
  'alert.kind': 'Тип',
  'alert.message': 'Сообщение',
  'alert.raised': 'Возникла',
  'alert.ack': 'Квитировать',
  'alert.acked': 'Квитировал(а) {who}',
  'alertKind.imbalance': 'Небаланс',
  'alertKind.meter_silent': 'Прибор молчит',
  'alertKind.gateway_silent': 'Шлюз молчит',
  'severity.info': 'инфо',
  'severity.warning': 'внимание',
  'severity.critical': 'авария',

  'status.ok': 'норма',
  'status.high_loss': 'большие потери',
  'status.negative_imbalance': 'отрицательный небаланс',
  'status.insufficient_data': 'мало данных',

  'verdict.valid': 'верно',
  'verdict.suspect': 'сомнительно',
  'verdict.invalid': 'неверно',
  'decision.accept': 'принято',
  'decision.reject': 'отклонено',

  'resource.heat': 'тепло',
  'resource.hot_water': 'ГВС',
  'resource.cold_water': 'ХВС',
  'resource.electricity': 'электроэнергия',
  'resource.wastewater': 'водоотведение',
  'resource.gas': 'газ',

  'placement.building': 'ОДПУ',
  'placement.apartment': 'квартира',
  'placement.common_area': 'МОП',
  'placement.non_residential': 'нежилое',

  'entry.title': 'Ввод показаний',
  'entry.open': 'Ввести показания',
  'entry.export': 'Показания в Excel',
  'entry.premise': 'Кв.',
  'entry.premiseSearch': 'номер помещения',
  'entry.target': 'Что вводим',
  'entry.pick': '— выберите —',
  'entry.pickFirst': 'Выберите помещение или приборы дома.',
  'entry.buildingMeters': 'Общедомовые приборы (ОДПУ)',
  'entry.noMeters': 'Здесь нет действующих приборов учёта.',
  'entry.serial': 'Заводской №',
  'entry.last': 'Последнее показание',
  'entry.lastWhen': 'Когда, откуда',
  'entry.value': 'Новое показание',
  'entry.reason': 'Основание (акт обхода, заявка)',
  'entry.reasonHint': 'необязательно',
  'entry.submit': 'Сохранить',
  'entry.saved': 'Сохранено:',
  'entry.consumption': 'расход',
  'entry.notANumber': 'не число',
  'entry.nothing': 'Не введено ни одного показания.',
  'entry.refused': 'Показания не сохранены: исправьте отмеченные строки.',
  'entry.confirm': 'Подтверждаю, показания верны',
  'entry.confirmText': 'Расход намного выше обычного для этих приборов. Проверьте показания и подтвердите.',

  'source.telemetry': 'телеметрия',
  'source.resident': 'жилец',
  'source.staff': 'сотрудник',
  'source.import': 'импорт',
  'source.estimate': 'оценка',

  'reason.register_decreased': 'показание уменьшилось',
  'reason.rollover': 'переход через ноль',
  'reason.replacement': 'замена прибора',
  'reason.spike': 'всплеск расхода',
  'reason.gap': 'пропуск данных',
  'reason.stuck_register': 'счётчик стоит',
  'reason.reverse_flow': 'обратный поток',
  'reason.meter_error': 'ошибка прибора',
  'reason.verification_expired': 'истёк срок поверки',
  'reason.clock_far_off': 'часы прибора сбиты',
  'reason.return_hotter_than_flow': 'обратка горячее подачи',
  'reason.heat_energy_mismatch': 'энергия не сходится с расходом и ΔT',
  'reason.estimated': 'расчётное значение',

  'heat.flow': 'Подача, °C',
  'heat.return': 'Обратка, °C',
  'heat.deltaT': 'ΔT, °C',
  'heat.volumeFlow': 'Расход, м³/ч',
  'heat.power': 'Мощность, кВт',
  'unit.pct': '%',
};

/** @type {typeof ru} */
const en = {
  'app.title': 'Imbalance and meters',
  'app.subtitle': 'Building meter vs Σ apartment meters',
  'nav.buildings': 'Buildings',
  'nav.logout': 'Log out',
  'lang.switch': 'RU',
  'lang.switchTitle': 'Переключить на русский',

  'login.title': 'Engineers sign in',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.failed': 'Wrong username or password',
  'login.resident': 'This is the engineers\u2019 page. Residents submit their readings in the residents\u2019 portal.',
  'login.forbidden': 'Your role has no access to this page.',

  'common.loading': 'Loading…',
  'common.none': '—',
  'common.error': 'Error',
  'common.unavailable': 'Service not available yet',
  'common.back': '← Back',
  'common.all': 'All',
  'common.month': 'Month',
  'common.from': 'From',
  'common.to': 'To',
  'common.resource': 'Resource',
  'common.apply': 'Show',
  'common.empty': 'No data',

  'buildings.title': 'Buildings',
  'buildings.address': 'Address',
  'buildings.gateways': 'Gateways online',
  'buildings.lastSeen': 'Last seen',
  'buildings.silent': 'Silent (remote)',
  'buildings.alerts': 'Open alerts',
  'buildings.flagged': 'Flagged readings',
  'buildings.imbalance': 'Imbalance {resource}',

  'building.title': 'Building',
  'building.chartImbalance': 'Building meter vs Σ apartment meters',
  'building.chartDaily': 'Building meter daily consumption',
  'building.chartHeat': 'Heat carrier parameters',
  'building.month': 'Month',
  'building.odpu': 'Building meter',
  'building.sumIpu': 'Σ apartment meters',
  'building.other': 'Other (common areas, non-residential)',
  'building.imbalance': 'Imbalance',
  'building.imbalancePct': 'Imbalance, %',
  'building.coverage': 'Apartment coverage',
  'building.status': 'Status',
  'building.consumption': 'Consumption',
  'building.meters': 'Meters',
  'building.gateways': 'Gateways',
  'building.alerts': 'Open alerts',
  'building.noOdpu': 'No building meter for this resource',
  'building.noHeatParams': 'Heat carrier parameters exist for heat building meters only',
  'building.recompute': 'Recompute',
  'building.flagged': 'Readings awaiting an engineer\u2019s review',

  'meter.serial': 'Serial no.',
  'meter.placement': 'Placement',
  'meter.premise': 'Premise',
  'meter.lastReading': 'Last reading',
  'meter.lastTime': 'Time',
  'meter.verdict': 'Validation',
  'meter.reasons': 'Reasons',
  'meter.flagged': 'Awaiting review',
  'meter.title': 'Meter',
  'meter.readings': 'Readings',
  'meter.time': 'Time',
  'meter.value': 'Value',
  'meter.version': 'Version',
  'meter.source': 'Source',
  'meter.history': 'Who, when, why',
  'meter.actions': 'Actions',
  'meter.accept': 'Accept',
  'meter.reject': 'Reject',
  'meter.correct': 'Correct',
  'meter.reason': 'Reason',
  'meter.newValue': 'New value',
  'meter.submit': 'Save',
  'meter.cancel': 'Cancel',
  'meter.reasonRequired': 'Give a reason (at least 3 characters)',
  'meter.valueRequired': 'Enter the new value',
  'meter.saved': 'Saved',
  'meter.correctedBy': 'corrected by {who} {when}: {why}',
  'meter.enteredBy': 'entered by {who} {when}: {why}',
  'meter.reviewedBy': '{decision}: {who} {when}: {why}',
  'meter.superseded': 'replaced by a correction',
  'meter.building': 'Building',

  'gateway.id': 'Gateway',
  'gateway.online': 'Online',
  'gateway.offline': 'Offline',
  'gateway.lastSeen': 'Last seen',
  'gateway.outbox': 'Outbox depth',

  'alert.severity': 'Severity',
  'alert.kind': 'Kind',
  'alert.message': 'Message',
  'alert.raised': 'Raised',
  'alert.ack': 'Acknowledge',
  'alert.acked': 'Acknowledged by {who}',
  'alertKind.imbalance': 'Imbalance',
  'alertKind.meter_silent': 'Meter silent',
  'alertKind.gateway_silent': 'Gateway silent',
  'severity.info': 'info',
  'severity.warning': 'warning',
  'severity.critical': 'critical',

  'status.ok': 'ok',
  'status.high_loss': 'high loss',
  'status.negative_imbalance': 'negative imbalance',
  'status.insufficient_data': 'insufficient data',

  'verdict.valid': 'valid',
  'verdict.suspect': 'suspect',
  'verdict.invalid': 'invalid',
  'decision.accept': 'accepted',
  'decision.reject': 'rejected',

  'resource.heat': 'heat',
  'resource.hot_water': 'hot water',
  'resource.cold_water': 'cold water',
  'resource.electricity': 'electricity',
  'resource.wastewater': 'wastewater',
  'resource.gas': 'gas',

  'placement.building': 'building meter',
  'placement.apartment': 'apartment',
  'placement.common_area': 'common area',
  'placement.non_residential': 'non-residential',

  'entry.title': 'Enter readings',
  'entry.open': 'Enter readings',
  'entry.export': 'Readings to Excel',
  'entry.premise': 'Flat',
  'entry.premiseSearch': 'premise number',
  'entry.target': 'Meters of',
  'entry.pick': '— choose —',
  'entry.pickFirst': 'Choose a premise or the building meters.',
  'entry.buildingMeters': 'Building meters (ОДПУ)',
  'entry.noMeters': 'No active meters here.',
  'entry.serial': 'Serial no.',
  'entry.last': 'Last reading',
  'entry.lastWhen': 'When, from',
  'entry.value': 'New reading',
  'entry.reason': 'Basis (walk-round act, request)',
  'entry.reasonHint': 'optional',
  'entry.submit': 'Save',
  'entry.saved': 'Saved:',
  'entry.consumption': 'consumption',
  'entry.notANumber': 'not a number',
  'entry.nothing': 'No reading entered.',
  'entry.refused': 'Nothing saved: fix the marked rows.',
  'entry.confirm': 'I confirm the readings are right',
  'entry.confirmText': 'Consumption is far above the usual for these meters. Check the readings and confirm.',

  'source.telemetry': 'telemetry',
  'source.resident': 'resident',
  'source.staff': 'staff',
  'source.import': 'import',
  'source.estimate': 'estimate',

  'reason.register_decreased': 'register decreased',
  'reason.rollover': 'register rollover',
  'reason.replacement': 'meter replaced',
  'reason.spike': 'consumption spike',
  'reason.gap': 'gap in data',
  'reason.stuck_register': 'register stuck',
  'reason.reverse_flow': 'reverse flow',
  'reason.meter_error': 'meter error',
  'reason.verification_expired': 'verification expired',
  'reason.clock_far_off': 'meter clock far off',
  'reason.return_hotter_than_flow': 'return hotter than flow',
  'reason.heat_energy_mismatch': 'energy does not match flow and ΔT',
  'reason.estimated': 'estimated value',

  'heat.flow': 'Flow, °C',
  'heat.return': 'Return, °C',
  'heat.deltaT': 'ΔT, °C',
  'heat.volumeFlow': 'Flow rate, m³/h',
  'heat.power': 'Power, kW',
  'unit.pct': '%',
};

export const DICTIONARIES = { ru, en };
export const LANGUAGES = /** @type {const} */ (['ru', 'en']);
const STORAGE_KEY = 'amr.dashboard.lang';

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

/** Switches the language; `persist: false` only switches (used by the module tests, which have no DOM). */
export function setLanguage(lang, { persist = true } = {}) {
  if (!(lang in DICTIONARIES)) throw new Error(`unknown language "${lang}" (known: ${LANGUAGES.join(', ')})`);
  current = lang;
  if (!persist) return;
  window.localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang;
}

export const language = () => current;
export const locale = () => (current === 'ru' ? 'ru-RU' : 'en-GB');

/** The label for a key, with {name} placeholders filled; the key itself when no dictionary has it. */
export function t(key, params) {
  const text = DICTIONARIES[current][key] ?? DICTIONARIES.en[key] ?? key;
  return params ? text.replace(/\{(\w+)\}/g, (_, k) => (params[k] ?? '')) : text;
}

/** A machine code (status, reason, resource, …) in the current language; unknown codes shown as they are. */
export function tc(prefix, code) {
  if (code == null) return t('common.none');
  const key = `${prefix}.${code}`;
  return key in DICTIONARIES[current] ? DICTIONARIES[current][key] : String(code);
}
