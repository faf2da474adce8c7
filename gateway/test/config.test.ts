import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfigText, resolveConfig, nextAlignedTime, defaultMbusTimeoutMs } from '../src/config/index.js';
import { issuesOf } from './helpers/config.js';

const sample = readFileSync(fileURLToPath(new URL('../config/gateway.sample.yaml', import.meta.url)), 'utf8');


describe('config', () => {
  it('accepts the sample and derives timing from the baud', () => {
    const { config } = parseConfigText(sample);
    const r = resolveConfig(config);
    const mbus = r.buses.find((b) => b.name === 'mbus1')!;
    expect(mbus.line.parity).toBe('even');
    // 330 bit times + 261 chars × 11 bits at 2400 Bd + 60 ms turnaround
    expect(mbus.timeoutMs).toBe(Math.ceil((330 + 261 * 11) / 2.4 + 60));
    expect(r.buses.find((b) => b.name === 'pulses')!.tcp).toEqual({ host: '192.168.10.20', port: 4001 });
    expect(r.meters.find((m) => m.id === 'heat-building')!.interval).toBe(15 * 60_000);
    expect(r.meters.find((m) => m.id === 'water-cold-building')!.address).toBe('12345678.ACW.14.07');
  });

  it('timeouts scale with the baud rate', () => {
    const at = (baud: number) => defaultMbusTimeoutMs({ baud, dataBits: 8, parity: 'even', stopBits: 1, tcp: false });
    expect(at(300)).toBeGreaterThan(at(2400));
    expect(at(2400)).toBeGreaterThan(at(9600));
  });

  const cases: [string, (s: string) => string, RegExp][] = [
    ['negative baud', (s) => s.replace('baud: 9600\n    parity', 'baud: -5\n    parity'), /^buses\[1\]\.baud: expected a positive integer/],
    ['unknown bus', (s) => s.replace('bus: rs485', 'bus: rs484'), /^meters\[2\]\.bus: no bus named "rs484"/],
    ['bad interval', (s) => s.replace('interval: 15m\n  - id: water', 'interval: 15 minutes\n  - id: water'), /^meters\[0\]\.interval: expected a duration/],
    ['typo key', (s) => s.replace('retries: 2', 'retires: 2'), /^buses\[0\]: unknown key\(s\): retires/],
    ['bad protocol', (s) => s.replace('protocol: modbus', 'protocol: profibus'), /^buses\[1\]\.protocol/],
    ['primary out of range', (s) => s.replace('primary: 1', 'primary: 251'), /^meters\[0\]\.primary: expected an M-Bus primary address/],
    ['slave on mbus', (s) => s.replace('primary: 1', 'primary: 1\n    slave: 3'), /^meters\[0\]\.slave: not allowed for a mbus meter/],
    ['bad gateway id', (s) => s.replace('id: gw-house-12', 'id: gw/12'), /^gateway\.id: expected letters/],
    ['bad mqtt url', (s) => s.replace('url: mqtts://headend.example.net:8883', 'url: headend:8883'), /^mqtt\.url: expected an MQTT URL/],
    ['unknown quantity', (s) => s.replace('[energy_kwh, power_w]', '[energy_kwh, powr]'), /^meters\[2\]\.quantities\[1\]: quantity must be/],
    ['duplicate meter id', (s) => s.replace('id: water-cold-building', 'id: heat-building'), /^meters\[1\]\.id: duplicate meter id/],
    ['missing registerMap', (s) => s.replace('    registerMap: sdm630           # known maps: sdm630, sdm120, amr-heat-calc, tv7 (amr-gateway check lists them)\n', ''), /^meters\[2\]\.registerMap: a Modbus meter needs/],
  ];
  it.each(cases)('names the key: %s', (_n, edit, re) => {
    const text = edit(sample);
    expect(text).not.toBe(sample);
    const issues = issuesOf(text);
    expect(issues.some((i) => re.test(i)), issues.join('\n')).toBe(true);
  });

  it('aligns schedules to the wall clock', () => {
    const t = Date.parse('2026-01-01T10:07:13Z');
    expect(new Date(nextAlignedTime(t, 15 * 60_000)).toISOString()).toBe('2026-01-01T10:15:00.000Z');
    expect(new Date(nextAlignedTime(Date.parse('2026-01-01T10:15:00Z'), 15 * 60_000)).toISOString()).toBe('2026-01-01T10:30:00.000Z');
  });
});
