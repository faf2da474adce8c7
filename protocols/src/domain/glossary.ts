/**
 * The one glossary: names used in code ↔ the terms users know (RU; UA where it differs).
 * Code, API and database use the English names; UIs show the Russian ones.
 */
export const GLOSSARY = {
  BuildingMeter: { ru: 'ОДПУ (общедомовой прибор учёта)', en: 'building (common-house) meter' },
  ApartmentMeter: { ru: 'ИПУ (индивидуальный прибор учёта)', en: 'apartment meter' },
  Building: { ru: 'МКД / объект', en: 'apartment block' },
  Organisation: { ru: 'УО (управляющая организация)', en: 'managing organisation' },
  Premise: { ru: 'помещение', en: 'premise (flat or non-residential unit)' },
  PersonalAccount: { ru: 'лицевой счёт (ЛС) / особовий рахунок', en: 'personal account' },
  Resource: { ru: 'вид ресурса / группа учёта', en: 'resource (group)' },
  Reading: { ru: 'показание', en: 'register reading' },
  Consumption: { ru: 'расход', en: 'consumption (difference of two readings)' },
  Verification: { ru: 'поверка', en: 'metrological verification' },
  VerificationInterval: { ru: 'межповерочный интервал', en: 'verification interval (years)' },
  CommonHouseConsumption: { ru: 'ОДН / КР на СОИ', en: 'common-house consumption' },
  Norm: { ru: 'норматив', en: 'consumption norm' },
  ImbalanceReport: { ru: 'небаланс / пофидерный анализ', en: 'imbalance: building meter vs Σ apartment meters' },
  Recalculation: { ru: 'перерасчёт', en: 'recalculation of past charges' },
  WorkOrder: { ru: 'наряд', en: 'work order' },
  MeterReplacement: { ru: 'замена прибора учёта (показание снятия / установки)', en: 'meter replacement (removal / installation readings)' },
  ReadingPeriod: { ru: 'расчётный период', en: 'reporting / billing period' },
  CollectionWindow: { ru: 'период приёма показаний', en: 'reading collection window' },
  Gateway: { ru: 'шлюз / УСПД', en: 'data collection gateway' },
  Tariff: { ru: 'тариф', en: 'tariff' },
  Accrual: { ru: 'начисление', en: 'accrual (charge)' },
  HeatCalculator: { ru: 'тепловычислитель', en: 'heat calculator (of a heat meter)' },
  ArchiveRecord: { ru: 'архивная запись (часовая / суточная)', en: 'archive record (hourly / daily)' },
  WorkingTime: { ru: 'Тр — время работы (нормального счёта)', en: 'working time (normal counting)' },
  AbnormalSituation: { ru: 'НС — нештатная ситуация', en: 'abnormal situation (fault state of a heat meter)' },
  AbnormalTime: { ru: 'Тнс — время НС (отсутствия счёта)', en: 'time in abnormal situation (no normal counting)' },
} as const;

export type DomainTerm = keyof typeof GLOSSARY;
