// No Docker engine runs on the development machines, so docker-compose.yml is kept correct by
// reading: its services, health checks, volumes, ports and the head-end's environment are checked
// against the head-end's own config schema (the one it validates at start).
import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { parse } from 'yaml';
import { loadConfig, CONFIG_KEYS } from '@amr/headend';

const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'));
/** Compose's `${VAR:-default}` as the default a user gets without a .env file. */
const interpolate = (v: unknown) => String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('docker-compose.yml', () => {
  it('has TimescaleDB, Redis and the head-end, each with a health check and restart policy', () => {
    for (const name of ['timescaledb', 'redis', 'headend']) {
      const s = compose.services[name];
      expect(s, name).toBeDefined();
      expect(s.healthcheck?.test, `${name}.healthcheck`).toBeDefined();
      expect(s.restart, `${name}.restart`).toBe('unless-stopped');
    }
    expect(compose.services.timescaledb.image).toMatch(/^timescale\/timescaledb:/);
  });

  it("gives the head-end only environment keys its config schema knows, and they validate", () => {
    const env = Object.fromEntries(Object.entries(compose.services.headend.environment).map(([k, v]) => [k, interpolate(v)]));
    const unknown = Object.keys(env).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
    expect(unknown).toEqual([]);
    const cfg = loadConfig(env);
    expect(new URL(cfg.DATABASE_URL!).hostname).toBe('timescaledb');
    expect(new URL(cfg.REDIS_URL).hostname).toBe('redis');
  });

  it('publishes the ports the head-end listens on, and its health check asks that HTTP port', () => {
    const h = compose.services.headend;
    const cfg = loadConfig(Object.fromEntries(Object.entries(h.environment).map(([k, v]) => [k, interpolate(v)])));
    const published = (h.ports as string[]).map((p) => Number(p.split(':').pop()!.split('/')[0]));
    expect(published).toContain(cfg.MQTT_PORT);
    expect(published).toContain(cfg.HTTP_PORT);
    expect(h.healthcheck.test.join(' ')).toContain(`:${cfg.HTTP_PORT}/health`);
  });

  it('keeps state in named volumes and builds from a Dockerfile that exists', () => {
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['tsdb-data', 'redis-data', 'headend-data']));
    const dockerfile = compose.services.headend.build.dockerfile;
    expect(existsSync(new URL(`../${dockerfile}`, import.meta.url))).toBe(true);
    const cfg = loadConfig(Object.fromEntries(Object.entries(compose.services.headend.environment).map(([k, v]) => [k, interpolate(v)])));
    expect(compose.services.headend.volumes).toContain(`headend-data:${cfg.DATA_DIR}`);
  });
});
