// C-field parsing, CI names, and the master's request builders down to the bytes on the wire.
import { describe, expect, it } from 'vitest';
import {
  APPLICATION_RESET_SUBCODE,
  ackFrame,
  ADDRESS_NETWORK_LAYER,
  applicationReset,
  ciForBaudRate,
  describeCi,
  describeControlField,
  deselect,
  encodeFrame,
  isPrimaryAddress,
  parseControlField,
  parseSecondaryAddress,
  reqUd1,
  reqUd2,
  rspUd,
  selectSecondary,
  sndNke,
  sndUd,
  switchBaudRate,
  type MbusFrame,
} from '../../../src/mbus/link/index.js';
import { hexBytes } from './corpus.js';

describe('parseControlField', () => {
  it.each([
    [0x40, { direction: 'master-to-slave', function: 'SND_NKE', fcb: false, fcv: false }],
    [0x53, { direction: 'master-to-slave', function: 'SND_UD', fcb: false, fcv: true }],
    [0x73, { direction: 'master-to-slave', function: 'SND_UD', fcb: true, fcv: true }],
    [0x5b, { direction: 'master-to-slave', function: 'REQ_UD2', fcb: false, fcv: true }],
    [0x7b, { direction: 'master-to-slave', function: 'REQ_UD2', fcb: true, fcv: true }],
    [0x5a, { direction: 'master-to-slave', function: 'REQ_UD1', fcb: false, fcv: true }],
    [0x08, { direction: 'slave-to-master', function: 'RSP_UD', acd: false, dfc: false }],
    [0x28, { direction: 'slave-to-master', function: 'RSP_UD', acd: true, dfc: false }],
    [0x18, { direction: 'slave-to-master', function: 'RSP_UD', acd: false, dfc: true }],
    [0x4f, { direction: 'master-to-slave', function: 'unknown', code: 0xf }],
  ] as const)('%#: C=%i', (c, want) => {
    expect(parseControlField(c)).toMatchObject({ ...want, raw: c });
  });

  it('describes a C field for traces', () => {
    expect(describeControlField(0x7b)).toBe('REQ_UD2 FCB=1 FCV=1');
    expect(describeControlField(0x28)).toBe('RSP_UD ACD=1 DFC=0');
    expect(describeControlField(0x41)).toBe('function 0x1 FCB=0 FCV=0');
  });
});

describe('CI field', () => {
  it.each([
    [0x50, 'application reset'],
    [0x51, 'data send'],
    [0x52, 'selection of slave'],
    [0x70, 'application error'],
    [0x72, 'variable data response'],
    [0x73, 'fixed data response'],
    [0x77, 'fixed data response (MSB first)'],
    [0x78, 'variable data response, no header'],
    [0x7a, 'variable data response, short header'],
    [0xbd, 'set baud rate to 9600'],
    [0x54, 'synchronize action'],
    [0x93, 'hash procedure 3'],
    [0x99, 'CI 0x99'],
  ])('CI %i is %s', (ci, name) => {
    expect(describeCi(ci)).toBe(name);
  });

  it('maps baud rates to CI and refuses others', () => {
    expect(ciForBaudRate(2400)).toBe(0xbb);
    expect(ciForBaudRate(300)).toBe(0xb8);
    expect(() => ciForBaudRate(115200)).toThrow(/no M-Bus CI field for 115200 baud/);
  });

  it('primary addresses are 0..250', () => {
    expect([0, 1, 250, 251, 253, -1, 1.5].map(isPrimaryAddress)).toEqual([true, true, true, false, false, false, false]);
  });
});

const wire: Array<[string, MbusFrame, string]> = [
  ['slave acknowledgement', ackFrame(), 'E5'],
  ['SND_NKE 5', sndNke(5), '10 40 05 45 16'],
  ['REQ_UD2 5 FCB=0', reqUd2(5, false), '10 5B 05 60 16'],
  ['REQ_UD2 5 FCB=1', reqUd2(5, true), '10 7B 05 80 16'],
  ['REQ_UD1 5 FCB=1', reqUd1(5, true), '10 7A 05 7F 16'],
  ['SND_UD data', sndUd(1, 0x51, hexBytes('01 7A 07')), '68 06 06 68 53 01 51 01 7A 07 27 16'],
  ['SND_UD FCB', sndUd(1, 0x51, hexBytes('01 7A 07'), true), '68 06 06 68 73 01 51 01 7A 07 47 16'],
  ['application reset', applicationReset(1), '68 03 03 68 53 01 50 A4 16'],
  ['application reset, instantaneous values', applicationReset(1, APPLICATION_RESET_SUBCODE.instantaneousValues), '68 04 04 68 53 01 50 50 F4 16'],
  ['select 14491001.*.01.06 (libmbus "14491001FFFF0106")', selectSecondary(parseSecondaryAddress('14491001FFFF0106')), '68 0B 0B 68 73 FD 52 01 10 49 14 FF FF 01 06 35 16'],
  ['deselect', deselect(), '10 40 FD 3D 16'],
  ['switch to 2400 baud', switchBaudRate(0xfe, 2400), '68 03 03 68 53 FE BB 0C 16'],
  ['RSP_UD with ACD', rspUd(1, 0x72, hexBytes('00'), { acd: true }), '68 04 04 68 28 01 72 00 9B 16'],
];

describe('builders', () => {
  it.each(wire)('%s', (_n, frame, hex) => {
    expect(encodeFrame(frame)).toEqual(hexBytes(hex));
  });

  it('selection goes to the network-layer address with CI 0x52 and 8 address bytes', () => {
    const f = selectSecondary(parseSecondaryAddress('12345678.ACW.14.07'));
    expect(f).toMatchObject({ kind: 'long', address: ADDRESS_NETWORK_LAYER, ci: 0x52 });
    expect(f.kind === 'long' && [...f.data]).toEqual([0x78, 0x56, 0x34, 0x12, 0x77, 0x04, 0x14, 0x07]);
  });

  it('refuses out-of-range addresses and subcodes', () => {
    expect(() => reqUd2(256, false)).toThrow(/0..255, got 256/);
    expect(() => sndNke(-1)).toThrow(RangeError);
    expect(() => applicationReset(1, 300)).toThrow(/subcode must be 0..255/);
  });
});
