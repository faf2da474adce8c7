/**
 * The input fields of readings entry, shared by the residents' page and the staff entry view: a meter's
 * tariff zones, the key of one field, "all zones or none" for a zone meter, and the API's refusals put
 * back on the fields that were sent. Pure (no DOM, no fetch): each page parses and words its own text.
 */

/**
 * The tariff zones to enter for a meter: [] for a single register, [1, 2] (day, night) or [1, 2, 3]
 * (day, night, peak) for a multi-zone one. The API takes at most three zones.
 */
export const zonesOf = (m) => {
  const n = Math.min(3, Number(m?.zones) || 1);
  return n >= 2 ? Array.from({ length: n }, (_, i) => i + 1) : [];
};

/** The key of one input field: "12" for a single-register meter, "12-2" for zone 2 (night) of meter 12. */
export const fieldKey = (meterId, zone) => (zone ? `${meterId}-${zone}` : String(meterId));

/**
 * The items one meter contributes to a submission. `read(zone)` gives what was typed in a field (zone
 * null for a single register) as null (empty), { value } or { error } (the page's own wording).
 * Nothing typed → no items and no errors. A zone meter goes with all its zones or not at all: billing
 * prices each zone, and a month with the day register but no night one would be billed as if the
 * night reading were missing — an empty zone beside a filled one is `missingZone`.
 * Returns { items: [{ meter_id, value, zone? }], errors: [[fieldKey, error]] }.
 */
export function meterItems(m, read, missingZone) {
  const zones = zonesOf(m);
  const typed = (zones.length ? zones : [null]).map((z) => [z, read(z)]);
  if (typed.every(([, p]) => p === null)) return { items: [], errors: [] };
  const errors = typed.flatMap(([z, p]) => {
    const error = p === null ? missingZone : p.error;
    return error ? [[fieldKey(m.id, z), error]] : [];
  });
  if (errors.length) return { items: [], errors };
  return { items: typed.map(([z, p]) => (z ? { meter_id: m.id, value: p.value, zone: z } : { meter_id: m.id, value: p.value })), errors: [] };
}

/**
 * Per-field messages from an error's details ({ path: "readings.<i>" or "body.readings.<i>.value", code,
 * params, message }): the index points into the readings that were sent, so a zone meter's message lands
 * on its zone's field ("12-2"). A coded detail goes to `render` whole (the page words it from the code,
 * web-shared/errors.js); an uncoded one (an older server, a queued answer) as its message, a message
 * naming only "meter N:" going to the meter ("12") and joined warnings ("meter 5: …; meter 5: …") split
 * one line each. Returns Map<fieldKey, string[]>.
 */
export function messagesByField(details, sent, render = (message) => message) {
  const out = new Map();
  for (const d of details ?? []) {
    const byPath = /(?:^|\.)readings\.(\d+)/.exec(d.path ?? ''); // readings.1 (rules) or body.readings.1.value (schema)
    const byText = /^meter (\d+):/.exec(d.message ?? '');
    const item = byPath ? sent[Number(byPath[1])] : undefined;
    const id = item ? item.meter_id : byText ? Number(byText[1]) : null;
    if (id == null) continue;
    const key = fieldKey(id, item?.zone);
    if (d.code) { out.set(key, [...(out.get(key) ?? []), render(d, id)]); continue; }
    const parts = String(d.message ?? '').split(/; (?=meter \d+: )/);
    out.set(key, [...(out.get(key) ?? []), ...parts.map((x) => render(x, id))]);
  }
  return out;
}

/** The same per meter (zones merged): Map<meterId, string[]>. */
export function messagesByMeter(details, sent, render) {
  const out = new Map();
  for (const [key, lines] of messagesByField(details, sent, render)) {
    const id = Number(key.split('-')[0]);
    out.set(id, [...(out.get(id) ?? []), ...lines]);
  }
  return out;
}
