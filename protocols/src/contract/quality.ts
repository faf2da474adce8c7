import { z } from 'zod';

/**
 * Quality flags carried by every reading (after OpenMUC's flag-per-value idea, but a set:
 * a value can be both "estimated by the meter" and "clock far off").
 * An empty set means the value is good. The head-end's validation adds its own verdicts
 * later; these say only what the gateway and the meter knew at read time.
 */
export const QUALITY_FLAGS = {
  timeout: 'the meter answered only after one or more timeouts/retries (value itself is good)',
  crc_error: 'a checksum/CRC error was seen during this read and the read was retried',
  collision: 'a bus collision was seen (several M-Bus slaves answered) during this read',
  meter_error: 'the meter reported an error in its status byte or an error record',
  value_overflow: 'the meter marked the value as overflowed / out of its coding range',
  clock_unset: 'the meter has a clock but it is not set (invalid date flag or year 2000-ish epoch)',
  clock_far_off: 'the meter clock differs from the gateway clock by more than the configured tolerance',
  estimated: 'the meter itself marks the value as estimated/substituted (not measured)',
  partial: 'the telegram was only partly decodable; the values given are the ones that were',
  counter_wrapped: 'a counter wrapped around since the previous read (pulse counters); the value accounts for it',
  power_failure: 'the meter reports power failure / low battery',
  manufacturer_specific: 'the value comes from manufacturer-specific data decoded by a profile',
  archive: 'the value was read back from the meter\'s own archive (a record of an interval, e.g. after the gateway was off), not measured at the poll',
} as const;

export const QualityFlag = z.enum(Object.keys(QUALITY_FLAGS) as [keyof typeof QUALITY_FLAGS, ...(keyof typeof QUALITY_FLAGS)[]]);
export type QualityFlag = z.infer<typeof QualityFlag>;
