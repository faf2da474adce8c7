/**
 * Embedded MQTT broker (aedes 1.x) with per-gateway credentials, the topic ACL, and ingestion
 * wired into `authorizePublish`. Who may connect is decided in authenticate.ts (cheap refusals,
 * bounded hashing, verified-credential cache); this file translates its answer into a CONNACK.
 *
 * Why ingestion runs in authorizePublish: for QoS 1, aedes writes the PUBACK right after
 * authorizePublish succeeds and BEFORE it forwards the message or calls `published`. So the only way
 * to acknowledge after commit is to commit first, inside authorizePublish. On a failed commit we call
 * back with an error: aedes then closes the connection without a PUBACK, and the gateway re-sends the
 * message from its outbox after reconnecting (nothing is acknowledged that is not stored).
 */
import { createServer as createTcpServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import type { CoreMetrics } from '../metrics/index.js';
import type { Ingest } from '../ingest/index.js';
import { gatewayMayPublish, gatewayMaySubscribe } from './acl.js';
import type { Authenticator, AuthenticatorOptions } from './authenticate.js';
import { registryAuthenticator } from './registry-auth.js';

export interface EmbeddedBrokerOptions {
  db: Db;
  ingest: Ingest;
  logger: Logger;
  metrics: CoreMetrics;
  host: string;
  port: number;
  tls?: { cert: string; key: string; port: number };
  /** Head-end's own clients (username → password): allowed everything. */
  internalUsers?: Map<string, string>;
  /** Tuning of the CONNECT check (back-off, cache, hash pool, clock) and whose failures count
   * together (the remote address unless given: tests simulate several addresses with it). */
  auth?: Pick<AuthenticatorOptions, 'now' | 'backoff' | 'cache' | 'pool'> & { limiterKey?: (client: Client) => string };
}

export interface EmbeddedBroker {
  aedes: Aedes;
  port: number;
  tlsPort?: number;
  /** The CONNECT check: `forget(gatewayId)` drops a gateway's verified credentials. */
  auth: Authenticator;
  /**
   * The gateway's secret was rotated (called after the new hash is committed): its verified
   * credentials are dropped and its sessions in this broker closed, so the old secret stops working
   * at once instead of at the next reconnect; the gateway reconnects with the new one. Returns how
   * many sessions were closed.
   */
  secretRotated(gatewayId: string): number;
  /** False once close() began: no new connection or message is taken (readiness asks this). */
  accepting(): boolean;
  /** Refuses new connections and messages at once, then disconnects the clients and stops listening. */
  close(): Promise<void>;
}

type AuthError = Error & { returnCode: number };
const authError = (msg: string, code: number): AuthError => Object.assign(new Error(msg), { returnCode: code });

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { db, ingest, logger, metrics } = opts;
  // `rotation`: the gateway's rotation count when its credentials were verified (authenticate.ts).
  const kind = new WeakMap<Client, { gatewayId?: string; internal?: boolean; rotation?: number }>();
  /** Connected sessions per gateway, to close them when its secret is rotated. */
  const sessions = new Map<string, Set<Client>>();
  /** Set first thing in close(): from then on nothing new is accepted, so nothing new is acknowledged. */
  let closing = false;
  const limiterKey = opts.auth?.limiterKey ?? ((c: Client) => (c.conn as { remoteAddress?: string }).remoteAddress ?? 'unknown');
  const auth = registryAuthenticator({ db, logger, metrics, internalUsers: opts.internalUsers, tuning: opts.auth });

  const aedes = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      if (closing) return done(authError('head-end shutting down', 3), false);
      const pw = password ? Buffer.from(password).toString('utf8') : '';
      auth.authenticate({ username, password: pw, clientId: client.id, limiterKey: limiterKey(client) }).then(
        (r) => {
          metrics.brokerAuth.inc({ outcome: r.outcome });
          if (r.ok) {
            kind.set(client, r.internal ? { internal: true } : { gatewayId: r.gatewayId, rotation: r.rotation });
            return done(null, true);
          }
          metrics.authRejected.inc({ action: 'connect' });
          if (r.outcome === 'db_unavailable') logger.error({ clientId: client.id, username, why: r.why }, 'mqtt connect refused');
          else logger.warn({ clientId: client.id, username, why: r.why }, 'mqtt connect refused');
          done(authError(r.why, r.returnCode), false);
        },
        (e: Error) => {
          logger.error({ err: e }, 'mqtt authentication failed');
          done(authError('server unavailable', 3), false);
        },
      );
    },
    authorizePublish(client, packet, done) {
      const who = client ? kind.get(client) : undefined;
      if (!client || who?.internal) return done(null); // broker-internal or head-end's own client
      // Shutting down: refused, so aedes drops the connection without a PUBACK and the gateway keeps
      // the message for the next head-end (stored only what was acknowledged, acknowledged only what was stored).
      if (closing) return done(new Error('head-end shutting down'));
      if (!who?.gatewayId || !gatewayMayPublish(who.gatewayId, packet.topic)) {
        metrics.authRejected.inc({ action: 'publish' });
        logger.warn({ gatewayId: who?.gatewayId, topic: packet.topic }, 'mqtt publish refused by ACL');
        return done(new Error(`publish to ${packet.topic} not allowed`));
      }
      ingest.handle(packet.topic, packet.payload as Buffer).then(
        () => done(null),
        (e: Error) => done(e),
      );
    },
    authorizeSubscribe(client, sub, done) {
      const who = kind.get(client);
      if (who?.internal || (who?.gatewayId && gatewayMaySubscribe(who.gatewayId, sub.topic))) return done(null, sub);
      metrics.authRejected.inc({ action: 'subscribe' });
      logger.warn({ gatewayId: who?.gatewayId, topic: sub.topic }, 'mqtt subscribe refused by ACL');
      // (null, null) = this filter refused: aedes answers SUBACK 0x80 for it and keeps the
      // connection (an error here would drop it, and with it the client's other subscriptions).
      done(null, null);
    },
  });
  aedes.on('clientError', (c, e) => logger.debug({ clientId: c.id, err: e.message }, 'mqtt client error'));
  aedes.on('client', (c) => {
    const who = kind.get(c);
    if (!who?.gatewayId) return;
    // Rotated between its check and now: closed like the sessions that were already open.
    if (who.rotation !== auth.rotation(who.gatewayId)) return c.close();
    const own = sessions.get(who.gatewayId) ?? new Set<Client>();
    sessions.set(who.gatewayId, own.add(c));
  });
  aedes.on('clientDisconnect', (c) => {
    const id = kind.get(c)?.gatewayId;
    if (id === undefined) return;
    const own = sessions.get(id);
    if (own?.delete(c) && own.size === 0) sessions.delete(id);
  });
  const secretRotated = (gatewayId: string): number => {
    auth.rotated(gatewayId);
    const own = [...(sessions.get(gatewayId) ?? [])];
    sessions.delete(gatewayId);
    for (const c of own) c.close();
    if (own.length) logger.info({ gatewayId, sessions: own.length }, 'secret rotated: sessions with the old secret closed');
    return own.length;
  };

  const servers: Server[] = [];
  const listen = (server: Server, host: string, port: number, what: string) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new Error(e.code === 'EADDRINUSE' ? `${what}: port ${host}:${port} is already in use (set MQTT_PORT)` : `${what}: ${e.message}`)),
      );
      server.listen(port, host, () => resolve((server.address() as { port: number }).port));
    });
  try {
    const tcp = createTcpServer(aedes.handle);
    servers.push(tcp);
    const port = await listen(tcp, opts.host, opts.port, 'embedded MQTT broker');
    let tlsPort: number | undefined;
    if (opts.tls) {
      const tls = createTlsServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, aedes.handle);
      servers.push(tls);
      tlsPort = await listen(tls, opts.host, opts.tls.port, 'embedded MQTT broker (TLS)');
    }
    logger.info({ port, tlsPort }, 'embedded MQTT broker listening');
    return {
      aedes,
      port,
      tlsPort,
      auth,
      secretRotated,
      accepting: () => !closing,
      async close() {
        closing = true;
        // Stop accepting first; server.close() then waits for open connections, which only
        // aedes.close() ends (it disconnects the clients), so both must run before awaiting.
        const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
        await new Promise<void>((r) => aedes.close(() => r()));
        await closed;
      },
    };
  } catch (e) {
    for (const s of servers) s.close();
    await new Promise<void>((r) => aedes.close(() => r()));
    throw e;
  }
}
