/**
 * libmbus error-frames/ and unsupported-frames/: the decoder must not crash or hang; it returns
 * a typed MbusDecodeError naming offset and problem, a partial result flagged as such, or (CI 0x70)
 * the slave's application error. Where libmbus wrote an .xml, its <Error> text must match ours.
 */
import { describe, expect, it } from 'vitest';
import { MbusDecodeError, decodeTelegram, parseHex, toLibmbusFormat, type MbusTelegram } from '../../src/mbus/app/index.js';
import { listHex, readHexFile, readXml } from './corpus-helpers.js';

type Outcome = { kind: 'error'; error: MbusDecodeError } | { kind: 'result'; telegram: MbusTelegram };

function decodeFile(sub: string, file: string): Outcome {
  let bytes: Uint8Array;
  try {
    bytes = parseHex(readHexFile(sub, file));
  } catch (err) {
    // Not even hex (manual_frame1.hex starts with a lone "D"): the CLI reports this as bad input.
    return { kind: 'error', error: new MbusDecodeError('bad_hex', (err as Error).message, 0) };
  }
  try {
    return { kind: 'result', telegram: decodeTelegram(bytes) };
  } catch (err) {
    if (err instanceof MbusDecodeError) return { kind: 'error', error: err };
    throw err;
  }
}

/** What each telegram must give: a result flag or an error code, and the frame offset it names
 *  (the byte that is missing or wrong, counted from the 0x68 start). */
const EXPECTED: Record<string, { error?: string; partial?: string; applicationError?: string; offset?: number; manufacturer?: boolean }> = {
  'application_busy.hex': { applicationError: 'Application busy' },
  'buffer_too_long.hex': { applicationError: 'Buffer too long, truncated' },
  'error.hex': { applicationError: 'Unspecified error' },
  'unspecified_error.hex': { applicationError: 'Unspecified error' },
  'unimplemented_ci.hex': { applicationError: 'Unimplemented CI-Field' },
  'premature_end_of_record.hex': { applicationError: 'Premature end of record' },
  'too_many_difes.hex': { applicationError: 'More than 10 DIFE´s' },
  'too_many_vifes.hex': { applicationError: 'More than 10 VIFE´s' },
  'too_many_readouts.hex': { applicationError: 'Too many readouts' },
  'too_many_records.hex': { applicationError: 'Too many records' },
  'premature_end_of_data1.hex': { partial: 'premature_end_data', offset: 32 },
  'premature_end_of_data2.hex': { partial: 'premature_end_data', offset: 32 },
  'premature_end_of_dif1.hex': { partial: 'premature_end_dif', offset: 30 },
  'premature_end_of_dif2.hex': { partial: 'premature_end_dif', offset: 31 },
  'premature_end_of_vif1.hex': { partial: 'premature_end_vif', offset: 31 },
  'premature_end_of_var_vif1.hex': { partial: 'premature_end_vif', offset: 44 },
  'too_long_var_vif.hex': { partial: 'too_long_var_vif', offset: 43 },
  'too_many_dife.hex': { partial: 'too_many_dife', offset: 40 },
  'too_many_vife.hex': { partial: 'too_many_vife', offset: 42 },
  'too_short_header.hex': { error: 'short_header' },
  'invalid_length.hex': { error: 'invalid_length' },
  // CI 0x73 fixed data structure with 15 of its 16 bytes.
  'invalid_length2.hex': { error: 'short_fixed_structure', offset: 22 },
  'manual_frame1.hex': { error: 'bad_hex' },
  'manual_frame4.hex': { error: 'unsupported_ci' },
  'manual_frame5.hex': { error: 'unsupported_ci' },
  'manual_frame6.hex': { error: 'unsupported_ci' },
  // DIF 0x1F straight after the header: all manufacturer data, more records follow (standard-conform).
  'svm_f22_telegram2.hex': { manufacturer: true },
};

for (const sub of ['error-frames', 'unsupported-frames']) {
  describe(`libmbus ${sub}/`, () => {
    const files = listHex(sub);
    it('has telegrams to check', () => expect(files.length).toBeGreaterThan(5));
    it.each(files)('%s gives a typed error or a flagged result', (file) => {
      const out = decodeFile(sub, file);
      const exp = EXPECTED[file];
      expect(exp, `add ${file} to EXPECTED with what it must give`).toBeDefined();
      if (out.kind === 'error') {
        expect(out.error).toBeInstanceOf(MbusDecodeError);
        if (exp.error !== '*') expect(out.error.code).toBe(exp.error);
        else expect(out.error.code).toMatch(/^[a-z_]+$/);
        expect(out.error.message).toMatch(/at offset \d+$/);
        if (exp.offset !== undefined) expect(out.error.offset).toBe(exp.offset);
        return;
      }
      const t = out.telegram;
      if (exp.applicationError) {
        expect(t.applicationError?.text).toBe(exp.applicationError);
        const xml = readXml(sub, file, '.xml');
        if (xml) expect(toLibmbusFormat(t).SlaveInformation).toEqual({ Error: xml.SlaveInformation.Error });
        return;
      }
      if (exp.manufacturer) {
        expect(t.moreRecordsFollow).toBe(true);
        expect(t.manufacturerData?.length).toBeGreaterThan(100);
        expect(t.partial).toBeUndefined();
        return;
      }
      expect(t.partial?.code, JSON.stringify(t.partial)).toBe(exp.partial);
      if (exp.offset !== undefined) expect(t.partial?.offset).toBe(exp.offset);
      expect(exp.error, `got a result, expected error ${exp.error}`).toBeUndefined();
    });
  });
}
