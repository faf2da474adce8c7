/**
 * What each import sheet holds, one zod schema per kind over the cell text. Rows refer to their parents
 * by the keys users have in their own files (building external id, premise number, account number),
 * never by our database ids.
 */
import { z } from 'zod';
import { Resource } from '@amr/protocols';
import { bool, date, int, num, opt, optText, text } from './cells.js';

export const ImportKind = z.enum(['buildings', 'premises', 'accounts', 'meters']);
export type ImportKind = z.infer<typeof ImportKind>;

/** Sheets are applied parents first so one workbook can bring a whole building. */
export const KIND_ORDER: ImportKind[] = ['buildings', 'premises', 'accounts', 'meters'];

export const BuildingImportRow = z.object({
  building: text(100), // external id
  address: text(),
  city: optText(200),
  fias_id: optText(64),
  year_built: opt(int()),
  floors: opt(int()),
  total_area_m2: opt(num()),
  common_area_m2: opt(num()),
});

export const PremiseImportRow = z.object({
  building: text(100),
  number: text(32),
  kind: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['residential', 'non_residential']).optional()),
  floor: opt(int()),
  entrance: optText(32),
  area_m2: opt(num().pipe(z.number().nonnegative())),
  residents: opt(int().pipe(z.number().nonnegative())),
});

export const AccountImportRow = z.object({
  account: text(64),
  building: text(100),
  premise: text(32),
  holder_name: optText(300),
  share: opt(num().pipe(z.number().gt(0).max(1))),
  active: opt(bool()),
  opened_on: opt(date()),
  closed_on: opt(date()),
});

export const MeterImportRow = z.object({
  building: text(100),
  /** Empty for a building (ОДПУ) or common-area meter. */
  premise: optText(32),
  placement: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['apartment', 'non_residential', 'building', 'common_area']).optional()),
  resource: z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), Resource),
  make: z.preprocess((v) => (typeof v === 'string' ? v.trim() : v ?? ''), z.string().max(100)),
  model: optText(100),
  serial_number: text(64),
  identifier: optText(64),
  register_digits: opt(int().pipe(z.number().min(1).max(15))),
  register_decimals: opt(int().pipe(z.number().min(0).max(6))),
  zones: opt(int().pipe(z.number().min(1).max(4))),
  commissioned_on: opt(date()),
  verification_interval_years: opt(int().pipe(z.number().positive())),
  last_verified_on: opt(date()),
  next_verification_on: opt(date()),
  place: optText(200),
  installed_on: opt(date()),
  sealed_on: opt(date()),
  antimagnetic_seal: opt(bool()),
  has_temperature_sensors: opt(bool()),
  has_pressure_sensors: opt(bool()),
  remote_reading: opt(bool()),
  notes: optText(2000),
});

export const ROW_SCHEMAS = { buildings: BuildingImportRow, premises: PremiseImportRow, accounts: AccountImportRow, meters: MeterImportRow } as const;
