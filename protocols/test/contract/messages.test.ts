import { describe, it, expect } from 'vitest';
import { ReadingsMessage, parseCommandArgs, parsePayload, parseTopic, topics, MAX_PAYLOAD_BYTES } from '@amr/protocols';

const good = {
  v: 1,
  gatewayId: 'gw-1',
  sentAt: '2026-01-01T00:00:00.000Z',
  readings: [
    {
      seq: 1,
      meter: { meterKey: 'heat-1', bus: 'mbus0', protocol: 'mbus', address: '5', serial: '12345678' },
      gatewayTime: '2026-01-01T00:00:00.000Z',
      values: [{ quantity: 'energy_kwh', value: 123.4, unit: 'kWh' }],
    },
  ],
};

describe('MQTT contract v1', () => {
  it('accepts a valid readings message and defaults quality to empty', () => {
    const r = parsePayload(ReadingsMessage, JSON.stringify(good));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.data.readings[0].values[0].quality).toEqual([]);
  });

  it('names the offending field of an invalid message', () => {
    const bad = structuredClone(good);
    bad.readings[0].values[0].quantity = 'Energy!';
    const r = parsePayload(ReadingsMessage, JSON.stringify(bad));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('readings.0.values.0.quantity');
  });

  it('refuses non-JSON and oversized payloads with a reason', () => {
    const r1 = parsePayload(ReadingsMessage, '{nope');
    expect(r1.ok).toBe(false);
    const r2 = parsePayload(ReadingsMessage, 'x'.repeat(MAX_PAYLOAD_BYTES + 1));
    expect(!r2.ok && r2.reason).toMatch(/too large/);
  });

  it('parses only topics of the contract', () => {
    expect(parseTopic(topics.readings('gw-1'))).toEqual({ gatewayId: 'gw-1', kind: 'readings' });
    expect(parseTopic(topics.command('gw-1', 'poll_now'))).toEqual({ gatewayId: 'gw-1', kind: 'cmd', command: 'poll_now' });
    expect(parseTopic('amr/v1/gw-1/readings/extra')).toBeNull();
    expect(parseTopic('amr/v1/+/readings')).toBeNull();
    expect(parseTopic('amr/v2/gw-1/readings')).toBeNull();
  });

  it('command topics carry any well-formed name (an unknown one is answered, not dropped), never wildcards or odd names', () => {
    expect(parseTopic('amr/v1/gw-1/cmd/self_destruct')).toEqual({ gatewayId: 'gw-1', kind: 'cmd', command: 'self_destruct' });
    expect(parseTopic('amr/v1/gw-1/reply/self_destruct')).toEqual({ gatewayId: 'gw-1', kind: 'reply', command: 'self_destruct' });
    for (const name of ['+', '#', 'Poll', '1poll', 'a'.repeat(33), '', 'poll now']) expect(parseTopic(`amr/v1/gw-1/cmd/${name}`)).toBeNull();
  });

  it('checks command arguments, naming each wrong key', () => {
    expect(parseCommandArgs('poll_now', {})).toEqual({ ok: true, data: {} });
    expect(parseCommandArgs('poll_now', { meters: ['a', 'b'] })).toEqual({ ok: true, data: { meters: ['a', 'b'] } });
    expect(parseCommandArgs('poll_now', { meter: 'a', meters: ['b'] })).toEqual({ ok: false, reason: 'invalid arguments of poll_now: args: give meter or meters, not both' });
    expect(parseCommandArgs('scan', { bus: 'm1', from: 0, to: 251 })).toMatchObject({ ok: false, reason: expect.stringMatching(/^invalid arguments of scan: args\.to: /) });
    expect(parseCommandArgs('scan', { from: 1 })).toMatchObject({ ok: false, reason: expect.stringMatching(/args\.bus: /) });
    expect(parseCommandArgs('set_config', { config: 'gateway: {}' })).toMatchObject({ ok: false, reason: expect.stringMatching(/args\.config: /) });
    expect(parseCommandArgs('restart', { force: true })).toEqual({ ok: false, reason: 'invalid arguments of restart: args: unknown key(s) force' });
  });

  describe('archive origin', () => {
    const withArchive = (archive: unknown, time?: string) => {
      const m = structuredClone(good) as unknown as { readings: Array<{ archive?: unknown; values: Array<Record<string, unknown>> }> };
      m.readings[0].archive = archive;
      if (time) m.readings[0].values[0].time = time;
      return parsePayload(ReadingsMessage, JSON.stringify(m));
    };

    it('still accepts an hourly record as gateways sent it before register archives existed', () => {
      const r = withArchive({ kind: 'hourly', record: '2026-01-01T02:00:00', stamp: 'start', seconds: 3600, nsCodes: ['dt_low'] }, '2025-12-31T23:00:00.000Z');
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.data.readings[0].archive).toEqual({ kind: 'hourly', record: '2026-01-01T02:00:00', stamp: 'start', seconds: 3600, nsCodes: ['dt_low'] });
    });

    it('refuses an hourly record without its interval length', () => {
      const r = withArchive({ kind: 'hourly', record: '2026-01-01T02:00:00', stamp: 'start' });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain('readings.0.archive.seconds');
    });

    it('accepts a due-date value without seconds or stamp, with its storage number and date', () => {
      const r = withArchive({ kind: 'due_date', record: '2011-01-01T00:00:00', date: '2010-12-31', storage: 1 });
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.data.readings[0].archive).toEqual({ kind: 'due_date', record: '2011-01-01T00:00:00', date: '2010-12-31', storage: 1, nsCodes: [] });
    });

    it('refuses a due-date value that carries its own time: the head-end dates it in the building zone', () => {
      const r = withArchive({ kind: 'month_end', record: '2014-03-01T00:00:00', storage: 32 }, '2014-02-28T21:00:00.000Z');
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain('readings.0.values.0.time: values of a month_end archive reading carry no time');
    });

    it('refuses an unknown archive kind, naming the field', () => {
      const r = withArchive({ kind: 'yearly', record: '2014-03-01T00:00:00' });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain('readings.0.archive.kind');
    });
  });
});
