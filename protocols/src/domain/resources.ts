import { z } from 'zod';

/** Resource of a meter (вид ресурса). Wastewater is billed from water meters, but kept for ОДПУ on sewage. */
export const Resource = z.enum(['heat', 'hot_water', 'cold_water', 'wastewater', 'electricity', 'gas']);
export type Resource = z.infer<typeof Resource>;

export const RESOURCE_NAMES: Record<Resource, { ru: string; en: string; unit: string }> = {
  heat: { ru: 'Отопление (тепловая энергия)', en: 'Heat', unit: 'kWh' },
  hot_water: { ru: 'Горячая вода', en: 'Hot water', unit: 'm3' },
  cold_water: { ru: 'Холодная вода', en: 'Cold water', unit: 'm3' },
  wastewater: { ru: 'Водоотведение', en: 'Wastewater', unit: 'm3' },
  electricity: { ru: 'Электроэнергия', en: 'Electricity', unit: 'kWh' },
  gas: { ru: 'Газ', en: 'Gas', unit: 'm3' },
};

/**
 * Where a reading came from (канал). `meter_archive`: telemetry too, but a record the gateway read
 * back from the meter's own archive (hourly/daily) for an interval it could not poll live.
 */
export const ReadingSource = z.enum(['telemetry', 'meter_archive', 'resident', 'staff', 'import']);
export type ReadingSource = z.infer<typeof ReadingSource>;
