/**
 * JSON of a large answer (a 100 000-row import's report) written a slice of its long arrays at a
 * time, handing the event loop back between slices: one JSON.stringify of it (and the response
 * schema's serializer before that) took the event loop — and so the embedded database, which runs on
 * it — for more than a second. Routes send the string with a JSON content type; fastify passes a
 * string through as is.
 */
const ITEMS_PER_TURN = 5000;

export async function stringifyInSlices(value: Record<string, unknown>): Promise<string> {
  const parts: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length <= ITEMS_PER_TURN) { parts.push(`${JSON.stringify(key)}:${JSON.stringify(v)}`); continue; }
    const slices: string[] = [];
    for (let i = 0; i < v.length; i += ITEMS_PER_TURN) {
      slices.push(v.slice(i, i + ITEMS_PER_TURN).map((x) => JSON.stringify(x) ?? 'null').join(','));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    parts.push(`${JSON.stringify(key)}:[${slices.join(',')}]`);
  }
  return `{${parts.join(',')}}`;
}
