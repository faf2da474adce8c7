/**
 * Measures how long each checkout of a database connection lasts (pool acquire → release: a
 * transaction, or one pool query), process-wide, by wrapping pg-pool's acquire/release. With the
 * embedded engine's one connection, the longest hold is how long everything else (ingest, the API,
 * jobs) waited behind one holder. Benchmarks only; nothing here runs in the head-end.
 */
import pg from 'pg';

const holds = [];
let armed = false;
const P = pg.Pool.prototype;
const acquire = P._acquireClient;
const release = P._release;
const clientQuery = pg.Client.prototype.query;
P._acquireClient = function (client, ...rest) {
  client.__holdSince = performance.now();
  client.__holdSql = [];
  return acquire.call(this, client, ...rest);
};
P._release = function (client, ...rest) {
  if (armed && client.__holdSince !== undefined) holds.push({ ms: performance.now() - client.__holdSince, sql: client.__holdSql });
  client.__holdSince = undefined;
  return release.call(this, client, ...rest);
};
pg.Client.prototype.query = function (config, ...rest) {
  const text = typeof config === 'string' ? config : config?.text;
  if (this.__holdSql && text && this.__holdSql.length < 40) this.__holdSql.push(String(text).replace(/\s+/g, ' ').trim().slice(0, 90));
  return clientQuery.call(this, config, ...rest);
};

/** Starts recording holds; the returned function stops and gives them, longest first. */
export function recordHolds() {
  holds.length = 0;
  armed = true;
  return () => {
    armed = false;
    return [...holds].sort((a, b) => b.ms - a.ms);
  };
}
