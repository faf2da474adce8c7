/**
 * Global setup of the server-engine test projects (`server`, `devices-server`: AMR_TEST_ENGINE=server): starts the tests' own TimescaleDB server (pg-server.ts),
 * migrates a template database once and hands its URL to every test file (`inject('amrPgUrl')`,
 * see engine.ts). The embedded project provides '' and makes the embedded databases' seed instead
 * (embedded-seed.ts).
 */
import type { TestProject } from 'vitest/node';
import { openDb, migrate } from '../src/db/index.js';
import { adminQuery, startPgServer } from './pg-server.js';
import { ensureEmbeddedSeed } from './embedded-seed.js';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (project.config.env?.AMR_TEST_ENGINE !== 'server') {
    project.provide('amrPgUrl', '');
    // Every memory:// database of the run (test files and the head-ends they start, in-process or as
    // child processes: the variable is inherited) starts from one migrated snapshot (embedded-seed.ts).
    process.env.AMR_EMBEDDED_SEED = await ensureEmbeddedSeed();
    return undefined;
  }
  const server = await startPgServer();
  try {
    await adminQuery(server.url(), 'CREATE DATABASE amr_template');
    const opened = await openDb({ databaseUrl: server.url('amr_template'), dataDir: '', dbPort: 0, poolMax: 1 });
    try { await migrate(opened.db); } finally { await opened.close(); }
    // A template must have no connections when copied: TimescaleDB's scheduler for it is stopped
    // and no new connection (scheduler included) is let in.
    await adminQuery(server.url(), 'ALTER DATABASE amr_template WITH IS_TEMPLATE true ALLOW_CONNECTIONS false');
    await adminQuery(server.url(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'amr_template' AND pid <> pg_backend_pid()");
  } catch (e) {
    await server.stop();
    throw e;
  }
  project.provide('amrPgUrl', server.url());
  return () => server.stop();
}
