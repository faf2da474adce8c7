// Building simulator configuration (YAML/JSON), validated with zod so an error names its key.
import { z } from 'zod';

export const Resource = z.enum(['heat', 'cold_water', 'hot_water', 'electricity']);
export type Resource = z.infer<typeof Resource>;
export const RESOURCES: readonly Resource[] = Resource.options;

const perResource = (def: number) =>
  z.strictObject({ heat: z.number().min(0).max(0.9).default(def), cold_water: z.number().min(0).max(0.9).default(def), hot_water: z.number().min(0).max(0.9).default(def), electricity: z.number().min(0).max(0.9).default(def) }).default({ heat: def, cold_water: def, hot_water: def, electricity: def });

const Transport = z.enum(['pty', 'tcp']);

const BusConfig = z.strictObject({
  transport: Transport,
  port: z.number().int().min(0).max(65535).default(0),
  baud: z.number().int().positive(),
  /** Character frame: 8N1 = 10, 8E1 = 11 (M-Bus is always 8E1 = 11). Default: 11 for M-Bus, 10 otherwise. */
  bitsPerChar: z.number().int().min(9).max(12).optional(),
  /** Modbus on TCP: 'mbap' (Modbus/TCP, default) or 'rtu' (RTU-over-TCP converter). */
  framing: z.enum(['rtu', 'mbap']).optional(),
});

export const BuildingConfig = z.strictObject({
  name: z.string().default('Building 1'),
  seed: z.number().int().default(1),
  /** Simulated start instant (ISO). */
  start: z.coerce.date().default(new Date('2026-01-01T00:00:00Z')),
  /** Simulated seconds per real second; 0 = frozen (tests drive it with advance()). */
  speed: z.number().min(0).default(1),
  apartments: z.number().int().min(1).max(200).default(12),
  /** Apartment water meters: serial pulse counters or M-Bus water meters. */
  apartmentWater: z.enum(['pulse', 'mbus']).default('pulse'),
  /** Apartment heat metering on M-Bus: heat meters (true / 'meter'), heat-cost allocators ('hca'),
   * or none (false: apartment heat use is only in the truth). */
  apartmentHeat: z.union([z.boolean(), z.enum(['meter', 'hca'])]).default(false),
  /** The ОДПУ heat's calculator also on the Modbus bus (unit 2) with its archives: none, or a ТВ7. */
  odpuHeatCalculator: z.enum(['none', 'tv7']).default('none'),
  /** HCA units per kWh of true heat (radiator rating factor × sensor response, lumped). */
  hcaUnitsPerKwh: z.number().positive().default(0.8),
  /** Liters per pulse on the pulse counters. */
  pulseWeightL: z.number().positive().default(10),
  /** Pulse counter wrap (2^32 on the wire; lower it to test rollover). */
  pulseWrap: z.number().int().min(2).max(2 ** 32).default(2 ** 32),
  /** Share of the building meter lost to leaks/theft/losses (the imbalance), per resource. */
  loss: perResource(0.03).default({ heat: 0.12, cold_water: 0.03, hot_water: 0.03, electricity: 0.05 }),
  /** Common-area use as a share of the apartments' sum, per resource. */
  common: perResource(0.02).default({ heat: 0.05, cold_water: 0.02, hot_water: 0.01, electricity: 0.08 }),
  /** Due-date history kept by M-Bus meters (months, storage numbers 1…N). */
  historyMonths: z.number().int().min(0).max(36).default(12),
  pacing: z.boolean().default(true),
  turnaroundMs: z.number().min(0).default(5),
  buses: z
    .strictObject({
      mbus: BusConfig.default({ transport: 'tcp', port: 0, baud: 2400 }),
      modbus: BusConfig.default({ transport: 'pty', port: 0, baud: 9600 }),
      pulse: BusConfig.default({ transport: 'pty', port: 0, baud: 9600 }),
    })
    .default({ mbus: { transport: 'tcp', port: 0, baud: 2400 }, modbus: { transport: 'pty', port: 0, baud: 9600 }, pulse: { transport: 'pty', port: 0, baud: 9600 } }),
});
export type BuildingConfig = z.infer<typeof BuildingConfig>;
export type BuildingConfigInput = z.input<typeof BuildingConfig>;

/** The keys an object of the schema accepts at `path` (through defaults and optionals). */
export function knownKeys(path: readonly PropertyKey[], schema: z.ZodType = BuildingConfig): string[] {
  let s: z.ZodType | undefined = schema;
  const unwrap = () => {
    while (s && (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodPrefault)) s = s.unwrap() as z.ZodType;
  };
  unwrap();
  for (const key of path) {
    if (!(s instanceof z.ZodObject)) return [];
    s = (s.shape as Record<string, z.ZodType>)[String(key)];
    unwrap();
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

export function formatConfigIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const at = i.path.join('.') || '(root)';
    if (i.code === 'unrecognized_keys') {
      return `${at}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}; known keys: ${knownKeys(i.path).join(', ')}`;
    }
    return `${at}: ${i.message}`;
  });
}

export function parseBuildingConfig(input: unknown): BuildingConfig {
  const r = BuildingConfig.safeParse(input ?? {});
  if (!r.success) throw new Error(`invalid building config: ${formatConfigIssues(r.error).join('; ')}`);
  return r.data;
}
