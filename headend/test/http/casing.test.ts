/** The API's one casing: snake_case out, snake_case in with the earlier camelCase keys understood. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fromWire, toDomain, toWire } from '../../src/http/casing.js';

describe('http casing', () => {
  it('toWire snake_cases nested keys, leaves values, Dates and the keys of data maps alone', () => {
    const at = new Date('2026-01-31T21:00:00Z');
    expect(toWire({ buildingId: 7, at, lines: [{ premiseId: 1, amountRub: '10.00' }], byResource: { cold_water: 1, heatEnergy: 2 } }, { keep: ['byResource'] }))
      .toEqual({ building_id: 7, at, lines: [{ premise_id: 1, amount_rub: '10.00' }], by_resource: { cold_water: 1, heatEnergy: 2 } });
    expect(toWire({ seasonMonths: [1, 2], grid: [[1, 2]], none: null })).toEqual({ season_months: [1, 2], grid: [[1, 2]], none: null });
    expect(toWire('text')).toBe('text');
    expect(toWire(null)).toBe(null);
  });
  it('toDomain camelCases a validated body', () => {
    expect(toDomain({ zone_shares: { t1: 0.7 }, season_months: [1, 2] })).toEqual({ zoneShares: { t1: 0.7 }, seasonMonths: [1, 2] });
  });
  it('fromWire accepts snake_case, and the camelCase of earlier versions; snake_case wins when both are sent', () => {
    const Body = fromWire(z.object({ building_id: z.number(), valid_from: z.string(), rules: z.object({ min_months: z.number() }) }));
    expect(Body.parse({ building_id: 1, valid_from: '2026-01-01', rules: { min_months: 3 } })).toEqual({ building_id: 1, valid_from: '2026-01-01', rules: { min_months: 3 } });
    expect(Body.parse({ buildingId: 1, validFrom: '2026-01-01', rules: { minMonths: 3 } })).toEqual({ building_id: 1, valid_from: '2026-01-01', rules: { min_months: 3 } });
    expect(Body.parse({ buildingId: 2, building_id: 1, valid_from: '2026-01-01', rules: { min_months: 3 } }).building_id).toBe(1);
    expect(Body.parse({ building_id: 1, buildingId: 2, valid_from: '2026-01-01', rules: { min_months: 3 } }).building_id).toBe(1);
    expect(() => Body.parse({ building: 1 })).toThrow(/building_id/);
  });
});
