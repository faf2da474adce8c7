/**
 * The demo's measure of the head-end's validator against the simulator's truth (pure, no I/O).
 *
 * The truth is which meter got which fault from which instant (`--fault`). Each fault kind has ONE
 * code the validator must put on a reading of that meter at or after the fault (recall), and a few
 * codes that are its honest consequences (precision does not count them against the validator):
 *
 * | kind        | expected code                                   | also explained by the fault            |
 * |-------------|-------------------------------------------------|----------------------------------------|
 * | stuck       | stuck_register                                  |                                        |
 * | reverseFlow | reverse_flow (M-Bus: flow sign, error flag);     | register_decreased, meter_error (the   |
 * |             | register_decreased (pulse, Modbus: no direction)| meter's reverse-flow error bit)        |
 * | rollover    | rollover (register digits known)                | spike, heat_energy_mismatch (the jump  |
 * |             |                                                 | to the register's top that sets it up) |
 * | replaced    | register_decreased (a swap not entered as one)  |                                        |
 * | silent, crc | gap (on the first reading after `clear`)        |                                        |
 *
 * A line fault (silent, crc) of one channel of a pulse device silences the whole device: every meter
 * on it is affected. `clear` ends nothing for scoring: a gap is seen only after it. So a line fault
 * never cleared in the run is not scored for recall (listed in `unscored`): with no reading after the
 * silence there is nothing for the validator to judge; a silence still going on is the alerts'
 * (meter_silent), not a miss of the validator.
 *
 * Precision counts (reading, code) pairs: a code on a reading is a true positive when an active fault
 * of that meter explains it, otherwise a false positive (a false alarm an engineer would learn to
 * ignore). Recall counts faults: caught when a reading of an affected meter at or after the fault
 * carries the expected code. Both are per code and overall. Overall precision is 1 when nothing is
 * flagged; recall is null without faults, as per-code figures are where there is nothing to divide.
 */

const EXPLAINS = {
  stuck: ['stuck_register'],
  reverseFlow: ['reverse_flow', 'register_decreased', 'meter_error'],
  rollover: ['rollover', 'spike', 'heat_energy_mismatch'],
  replaced: ['register_decreased'],
  silent: ['gap'],
  crc: ['gap'],
};

/** The code a fault of `kind` on meter `m` (a simulator endpoint) must be flagged with. */
export function expectedCode(kind, m) {
  if (kind === 'reverseFlow') return m.bus === 'mbus' ? 'reverse_flow' : 'register_decreased';
  return { stuck: 'stuck_register', rollover: 'rollover', replaced: 'register_decreased', silent: 'gap', crc: 'gap' }[kind] ?? null;
}

/** Meters a fault on `m` affects: the whole pulse device for a line fault, else the meter alone. */
function affectedMeters(kind, m, meters) {
  if ((kind === 'silent' || kind === 'crc') && m.pulse) return meters.filter((x) => x.pulse?.deviceId === m.pulse.deviceId).map((x) => x.meterId);
  return [m.meterId];
}

const ratio = (a, b) => (b > 0 ? Number((a / b).toFixed(4)) : null);

/**
 * @param {object} input
 * @param {Array<{meterId: string, kind: string, atMs: number}>} input.faults  faults as applied (clear included)
 * @param {Array<{meterId: string, bus: string, pulse?: {deviceId: number}}>} input.meters  the simulator's endpoints
 * @param {Array<{meter: string, timeMs: number, codes: string[]}>} input.flagged  every non-valid verdict
 */
export function scoreValidator({ faults, meters, flagged }) {
  const byId = new Map(meters.map((m) => [m.meterId, m]));
  const cleared = (f) => faults.some((c) => c.kind === 'clear' && c.meterId === f.meterId && c.atMs > f.atMs);
  const open = (f) => (f.kind === 'silent' || f.kind === 'crc') && !cleared(f);
  const unscored = faults.filter((f) => EXPLAINS[f.kind] && open(f))
    .map((f) => ({ meter: f.meterId, kind: f.kind, from: new Date(f.atMs).toISOString(), why: 'not cleared in the run: no reading after it to carry a gap' }));
  const injected = faults
    .filter((f) => f.kind !== 'clear' && EXPLAINS[f.kind])
    .map((f) => {
      const m = byId.get(f.meterId);
      return { ...f, expected: expectedCode(f.kind, m), affects: affectedMeters(f.kind, m, meters) };
    });
  const explains = (meter, timeMs, code) => injected.some((f) => f.affects.includes(meter) && timeMs >= f.atMs && EXPLAINS[f.kind].includes(code));

  const perCode = {};
  const code = (c) => (perCode[c] ??= { flagged: 0, truePositives: 0, falsePositives: 0, faults: 0, caught: 0 });
  const falsePositives = [];
  let tp = 0;
  let fp = 0;
  for (const r of flagged) {
    const wrong = r.codes.filter((c) => !explains(r.meter, r.timeMs, c));
    for (const c of r.codes) {
      code(c).flagged++;
      if (wrong.includes(c)) code(c).falsePositives++;
      else code(c).truePositives++;
    }
    tp += r.codes.length - wrong.length;
    fp += wrong.length;
    if (wrong.length) falsePositives.push({ meter: r.meter, time: new Date(r.timeMs).toISOString(), codes: wrong });
  }

  const misses = [];
  let caught = 0;
  const faultsOut = injected.filter((f) => !open(f)).map((f) => {
    const hit = flagged.find((r) => f.affects.includes(r.meter) && r.timeMs >= f.atMs && r.codes.includes(f.expected));
    code(f.expected).faults++;
    if (hit) {
      caught++;
      code(f.expected).caught++;
    } else misses.push({ meter: f.meterId, kind: f.kind, from: new Date(f.atMs).toISOString(), expected: f.expected });
    return { meter: f.meterId, kind: f.kind, from: new Date(f.atMs).toISOString(), expected: f.expected, flaggedAt: hit ? new Date(hit.timeMs).toISOString() : null };
  });

  const codes = Object.fromEntries(
    Object.entries(perCode)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([c, v]) => [c, { ...v, precision: ratio(v.truePositives, v.flagged), recall: ratio(v.caught, v.faults) }]),
  );
  return {
    // Nothing flagged is no false alarm: precision 1 (recall has nothing to count without faults).
    precision: tp + fp === 0 ? 1 : ratio(tp, tp + fp),
    recall: ratio(caught, faultsOut.length),
    flaggedCodes: tp + fp,
    truePositives: tp,
    falsePositives,
    faults: faultsOut,
    misses,
    unscored,
    codes,
  };
}
