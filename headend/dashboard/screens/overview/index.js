/**
 * The engineer's overview: the buildings list, a building, a meter (Preact components in this folder),
 * and the inspector's reading entry (still the DOM-builder view, mounted through the legacy adapter).
 */
import { html, useHashSearch, useParams } from '../../../web-shared/ui.js';
import { renderEntry } from '../../views/entry.js';
import { LegacyView } from '../legacy.js';
import { BuildingsScreen } from './buildings.js';
import { BuildingScreen } from './building.js';
import { MeterScreen } from './meter.js';

function Entry({ me }) {
  const params = useParams();
  const search = useHashSearch();
  return html`<${LegacyView} render=${renderEntry} args=${[Number(params.id)]} me=${me} query=${search} />`;
}

const ru = {
  'overview.buildingsPeriod': 'Небаланс за {month}',
  'overview.noBuildings': 'Вам пока не открыт ни один дом: попросите администратора выдать доступ.',
  'overview.monthRange': '{from} — {to}',
  'overview.dayRange': 'с {from} по {to}',
  'overview.alertAck': 'Квитирование',
  'overview.alertsAll': 'Показать все ({count})',
  'overview.alertsFewer': 'Свернуть',
  'overview.alertsMore_one': 'и ещё {count} тревога — «Показать все»',
  'overview.alertsMore_few': 'и ещё {count} тревоги — «Показать все»',
  'overview.alertsMore_many': 'и ещё {count} тревог — «Показать все»',
  'overview.alertsMore_other': 'и ещё {count} тревоги — «Показать все»',
  'overview.noAlerts': 'Открытых тревог нет',
  'overview.flaggedAll': 'Показать все ({count})',
  'overview.noFlagged': 'Все показания проверены',
  'overview.noMeters': 'Приборов учёта по этому ресурсу пока нет',
  'overview.noGateways': 'Шлюзов пока нет',
  'overview.metersFlagged_one': '{count} прибор ждёт решения',
  'overview.metersFlagged_few': '{count} прибора ждут решения',
  'overview.metersFlagged_many': '{count} приборов ждут решения',
  'overview.metersFlagged_other': '{count} прибора ждут решения',
  'overview.flat': 'кв. {number}',
  'overview.consumption': 'Расход',
  'overview.total': 'Итого: {value}',
  'overview.presets': 'Быстрый выбор периода',
  'overview.preset.this_month': 'Этот месяц',
  'overview.preset.last_month': 'Прошлый месяц',
  'overview.preset.year': '12 месяцев',
  'overview.badRange': 'Начало периода ({from}) позже конца ({to}): поменяйте даты местами.',
  'overview.noReadingsPeriod': 'Нет показаний за этот период',
  'overview.truncated': 'Показаны последние 2000 моментов периода: сузьте период, чтобы увидеть более ранние.',
  'overview.heatFlow': 'Подача',
  'overview.heatReturn': 'Обратка',
  'overview.heatDeltaT': 'ΔT',
  'overview.heatVolumeFlow': 'Расход',
  'overview.heatPower': 'Мощность',
};

/** @type {typeof ru} */
const en = {
  'overview.buildingsPeriod': 'Imbalance for {month}',
  'overview.noBuildings': 'No building is open to you yet: ask an administrator for access.',
  'overview.monthRange': '{from} — {to}',
  'overview.dayRange': 'from {from} to {to}',
  'overview.alertAck': 'Acknowledgement',
  'overview.alertsAll': 'Show all ({count})',
  'overview.alertsFewer': 'Show fewer',
  'overview.alertsMore_one': 'and {count} more alert — "Show all"',
  'overview.alertsMore_few': 'and {count} more alerts — "Show all"',
  'overview.alertsMore_many': 'and {count} more alerts — "Show all"',
  'overview.alertsMore_other': 'and {count} more alerts — "Show all"',
  'overview.noAlerts': 'No open alerts',
  'overview.flaggedAll': 'Show all ({count})',
  'overview.noFlagged': 'Every reading has been reviewed',
  'overview.noMeters': 'No meters of this resource yet',
  'overview.noGateways': 'No gateways yet',
  'overview.metersFlagged_one': '{count} meter awaits review',
  'overview.metersFlagged_few': '{count} meters await review',
  'overview.metersFlagged_many': '{count} meters await review',
  'overview.metersFlagged_other': '{count} meters await review',
  'overview.flat': 'flat {number}',
  'overview.consumption': 'Consumption',
  'overview.total': 'Total: {value}',
  'overview.presets': 'Quick period choice',
  'overview.preset.this_month': 'This month',
  'overview.preset.last_month': 'Last month',
  'overview.preset.year': '12 months',
  'overview.badRange': 'The period starts ({from}) after it ends ({to}): swap the dates.',
  'overview.noReadingsPeriod': 'No readings in this period',
  'overview.truncated': 'Showing the period\u2019s latest 2000 instants: narrow the period to see earlier ones.',
  'overview.heatFlow': 'Flow',
  'overview.heatReturn': 'Return',
  'overview.heatDeltaT': 'ΔT',
  'overview.heatVolumeFlow': 'Flow rate',
  'overview.heatPower': 'Power',
};

export const overviewScreen = {
  id: 'overview',
  messages: { ru, en },
  routes: [
    { path: '/', component: BuildingsScreen },
    { path: '/buildings/:id/entry', component: Entry },
    { path: '/buildings/:id', component: BuildingScreen },
    { path: '/meters/:id', component: MeterScreen },
  ],
  nav: [{ href: '/', key: 'nav.buildings' }],
};
