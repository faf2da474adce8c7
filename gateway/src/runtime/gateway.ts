/**
 * The running gateway: config → outbox, bus workers with their drivers, wall-clock scheduler,
 * MQTT session + publisher + remote commands, metrics/health, raw telegram log.
 * Every successful poll is appended to the outbox (fsync) before the publisher is kicked; failed
 * polls are counted, raised as events, and never block the other meters of the bus.
 */
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { CONTRACT_VERSION, topics, type ArchiveKind, type GatewayEvent, type SetConfigResult } from '@amr/protocols';
import { stringify } from 'yaml';
import type { GatewayConfig } from '../config/schema.js';
import { resolveConfig, type ResolvedConfig, type ResolvedMeter } from '../config/resolve.js';
import { validateConfig } from '../config/load.js';
import { Outbox } from '../outbox/outbox.js';
import { BusWorker, type PollOutcome } from '../bus/worker.js';
import { Scheduler } from '../bus/scheduler.js';
import { createDriver } from '../drivers/factory.js';
import { connect, type Connection } from '../mqtt/connection.js';
import { Publisher } from '../mqtt/publisher.js';
import { CommandOutcome, CommandService } from '../mqtt/commands.js';
import { GatewayMetrics } from '../ops/metrics.js';
import { judgeHealth, startHealthServer } from '../ops/health.js';
import { RawLog, type RawLogLine } from '../ops/rawlog.js';
import type { Logger } from '../ops/logger.js';
import { toArchiveReading, toPendingReading } from './reading.js';
import { MeterStateStore, afterArchives, afterFailure, afterSuccess, historyDue, unpublishedArchives } from './meter-state.js';
import { ARCHIVE_ORDER, BackfillStore, archiveReading, backfillKinds, dueRecords, endsGap, gapJob, jobDone, routineJob, routineKinds, selectClock } from './backfill.js';
import { registerMap } from '../drivers/modbus.js';
import { MBUS_PROFILES } from '../profiles/mbus-profiles.js';
import type { MeterRead } from '../drivers/types.js';

export interface GatewayOptions {
  config: GatewayConfig;
  /** Where `set_config` writes the accepted config (the file `run --config` was given). */
  configFile?: string;
  logger: Logger;
  /** Called by the `restart` command and by a config change; the CLI exits so systemd restarts it. */
  onRestartRequested?: (reason: string) => void;
  scheduler?: boolean;
  /** Time source for readings' gatewayTime and the meter-clock check (ms since epoch); default the wall clock. A simulated
   *  clock here lets a demo or test replay a month of polls in minutes with readings in simulated time. */
  now?: () => number;
  /**
   * `set_config` with other broker settings: how long the gateway waits for the broker to accept the
   * new connection before it goes back to the previous config (ms; default 20 s, under the head-end's
   * 30 s wait for the reply so the reply can say which way it went).
   */
  configConfirmMs?: number;
}

export interface GatewayEvents {
  reading: [seq: number, meter: string];
  pollFailed: [meter: string, err: Error];
  event: [e: GatewayEvent];
}

export class Gateway extends EventEmitter<GatewayEvents> {
  readonly cfg: ResolvedConfig;
  readonly metrics = new GatewayMetrics(true);
  readonly outbox: Outbox;
  readonly workers = new Map<string, BusWorker>();
  private scheduler: Scheduler | null = null;
  private conn: Connection | null = null;
  private publisher: Publisher | null = null;
  private commands: CommandService | null = null;
  /** One set_config at a time: two overlapping ones would each roll back to a config the other replaced. */
  private configChange: Promise<unknown> = Promise.resolve();
  private healthServer: { port: number; close(): Promise<void> } | null = null;
  private rawLog: RawLog | null = null;
  private readonly startedAt = new Date().toISOString();
  /** Per-meter last success/failure and silence, persisted (meter_back also across a restart). */
  private meterState: MeterStateStore | null = null;
  private readonly clockOff = new Set<string>();
  /** Serial number last seen behind each meter's address (persisted: a swap is noticed across restarts). */
  private serials: Record<string, string> = {};
  readonly missedPolls = new Map<string, number>();
  private stopping = false;
  /** Unfinished back-fills from meters' archives, persisted (a crash mid-way resumes). */
  private backfillStore: BackfillStore | null = null;
  /** The back-fill running per meter (one at a time). */
  private readonly backfills = new Map<string, Promise<void>>();

  constructor(private readonly opts: GatewayOptions) {
    super();
    this.cfg = resolveConfig(opts.config);
    const g = opts.config.gateway;
    this.outbox = new Outbox({ dir: join(g.bufferDir, 'outbox'), maxBytes: g.outboxMaxBytes, nearFull: g.outboxNearFull, memoryReadings: g.outboxMemoryReadings, retryMs: g.outboxRetry });
  }

  get log(): Logger {
    return this.opts.logger;
  }
  get healthPort(): number | null {
    return this.healthServer?.port ?? null;
  }

  async start(): Promise<void> {
    const raw = this.opts.config;
    const report = this.outbox.open();
    this.log.info({ outbox: report }, 'outbox opened');
    if (report.tornTailBytes > 0) this.log.warn({ bytes: report.tornTailBytes }, 'outbox: torn last record (power cut) truncated');
    if (report.corruptRecords > 0) this.log.error({ count: report.corruptRecords }, 'outbox: corrupt records skipped');
    this.outbox.on('level', (level, bytes) => {
      this.metrics.outboxLevel.set(level === 'ok' ? 0 : level === 'near_full' ? 1 : 2);
      if (level === 'near_full') this.raise('outbox_near_full', 'warning', `outbox at ${bytes} bytes of ${raw.gateway.outboxMaxBytes}: low-priority polls paused`, undefined, { data: { bytes } });
      if (level === 'full') this.raise('outbox_full', 'error', `outbox full (${bytes} bytes): polls refused until the broker takes readings`, undefined, { data: { bytes } });
    });
    // The disk under the outbox refusing writes is "outbox full" too: polls go on into memory.
    this.outbox.on('storage', (fault, held) => {
      this.metrics.outboxStorageFailed.set(fault ? 1 : 0);
      if (fault) this.raise('outbox_full', 'error', `outbox cannot write (${fault.code} on ${fault.op}): readings held in memory, up to ${raw.gateway.outboxMemoryReadings}, until the disk takes writes again`, undefined, { data: { cause: 'storage', op: fault.op, code: fault.code, held } });
      else {
        this.log.info({ depth: this.outbox.depth }, 'outbox storage writable again; held readings journaled');
        this.publisher?.kick();
      }
      this.updateOutboxGauges();
    });
    this.outbox.on('storageError', (op, code) => this.metrics.outboxStorageErrors.inc({ op, code }));
    this.outbox.on('appended', () => this.publisher?.kick());
    this.updateOutboxGauges();
    this.meterState = new MeterStateStore(join(raw.gateway.bufferDir, 'meter-state.json'), this.cfg.meters.map((m) => m.id));
    if (this.meterState.loadProblem) this.log.warn({ problem: this.meterState.loadProblem }, 'meter state unreadable');
    const silentBefore = this.meterState.silent();
    if (silentBefore.length > 0) this.log.info({ meters: silentBefore }, 'meters silent before the restart; meter_back follows when they answer');
    this.backfillStore = new BackfillStore(join(raw.gateway.bufferDir, 'backfill.json'), this.cfg.meters.filter((m) => m.backfill).map((m) => m.id));
    if (this.backfillStore.loadProblem) this.log.warn({ problem: this.backfillStore.loadProblem }, 'back-fill state unreadable');
    const serialsFile = join(raw.gateway.bufferDir, 'serials.json');
    if (existsSync(serialsFile)) this.serials = JSON.parse(readFileSync(serialsFile, 'utf8')) as Record<string, string>;
    if (raw.rawLog) this.rawLog = new RawLog(raw.rawLog.dir, raw.rawLog.maxBytes, raw.rawLog.files);

    for (const bus of this.cfg.buses) {
      const driver = createDriver(bus, raw, this.cfg.meters, this.opts.now, {
        lineDrained: (b, info) => {
          this.metrics.lineDrained.inc({ bus: b }, info.bytes);
          this.log.debug({ bus: b, ...info }, 'late bytes discarded before a request (rest of an earlier answer)');
        },
      });
      const meters = this.cfg.meters.filter((m) => m.bus === bus.name);
      const worker = new BusWorker(
        bus,
        driver,
        raw.gateway.silentAfter,
        {
          linkLost: (b, e, ms) => {
            this.metrics.busUp.set({ bus: b }, 0);
            this.metrics.busLosses.inc({ bus: b, code: e.code });
            this.raise('bus_error', 'warning', `bus ${b} closed: ${e.message} [${e.code}]; reopening in ${ms} ms`, undefined, { bus: b, data: { code: e.code, retryInMs: ms } });
          },
          openFailed: (b, e, attempt, ms) => {
            this.metrics.busUp.set({ bus: b }, 0);
            // The first failure is an event (a device missing at start, or gone for good); the retries are log lines.
            if (attempt === 1) this.raise('bus_error', 'warning', `bus ${b}: cannot open: ${e.message} [${e.code}]; retrying in ${ms} ms`, undefined, { bus: b, data: { code: e.code, retryInMs: ms } });
            else this.log.warn({ bus: b, code: e.code, attempt, retryInMs: ms }, `bus ${b}: reopen failed: ${e.message}`);
          },
          opened: (b) => this.metrics.busUp.set({ bus: b }, 1),
          reopened: (b, attempts) => this.log.warn({ bus: b, attempts }, `bus ${b} reopened`),
          recovered: (b, downMs) => this.log.info({ bus: b, downMs }, `bus ${b} recovered: meters answer again`),
          busyMs: (b, ms) => this.metrics.busBusy.inc({ bus: b }, ms / 1000),
        },
        { meterIds: meters.map((m) => m.id), link: { retryMinMs: raw.gateway.reopenMin, retryMaxMs: reopenCap(raw.gateway.reopenMin, raw.gateway.reopenMax, meters) } },
      );
      // A meter silent before a restart gets one attempt per slot, as before it.
      for (const m of meters) {
        const f = this.meterState.get(m.id)?.consecutiveFailures ?? 0;
        if (f > 0) worker.failures.set(m.id, f);
      }
      this.workers.set(bus.name, worker);
    }

    this.commands = new CommandService({
      gatewayId: raw.gateway.id,
      handlers: {
        poll_now: async (a) => this.pollNow(a.meter ?? a.meters),
        get_config: async () => redact(this.opts.config),
        set_config: async (a) => this.setConfig(a.config),
        scan: async (a) => this.scanBus(a.bus, a.mode ?? 'primary', a.from, a.to),
        scan_bus: async (a) => this.scanBus(a.bus, a.mode ?? 'primary', a.from, a.to),
        restart: async () => {
          // After the reply is on its way: under systemd the process exits and Restart=always starts it again.
          setTimeout(() => this.opts.onRestartRequested?.('remote restart command'), 200);
          return { restarting: true };
        },
      },
      onError: (e) => this.log.warn({ err: e.message }, 'command failed'),
    });
    this.openMqtt(raw);

    if (raw.health) {
      this.healthServer = await startHealthServer(raw.health.host, raw.health.port, this, this.metrics);
      this.log.info({ port: this.healthServer.port }, 'health/metrics listening');
    }

    if (this.opts.scheduler !== false) {
      this.scheduler = new Scheduler(this.cfg.meters, {
        due: (m) => void this.poll(m).catch((e: Error) => this.log.error({ meter: m.id, err: e.message }, 'poll failed unexpectedly')),
        missed: (m, n) => this.countMissed(m, 'slot_skipped', n),
      });
      this.scheduler.start();
    }
  }

  /**
   * False when a bus has been stuck in one job far longer than its worst case (a wedged driver),
   * which a restart can cure. The watchdog (cli/watchdog.ts) pings only while this and health() hold.
   */
  alive(now = Date.now()): boolean {
    for (const w of this.workers.values()) {
      const worst = Math.max(60_000, 4 * (w.bus.retries + 1) * w.bus.timeoutMs * w.bus.maxTelegrams);
      if (w.busySince !== null && now - w.busySince > worst) return false;
    }
    return true;
  }

  /**
   * What /health reports (and the systemd watchdog acts on, see cli/watchdog.ts): the broker
   * connection, each bus's line, silent meters, the outbox; `ok` false when the gateway cannot
   * deliver or cannot poll for longer than `health.grace` (judgeHealth).
   */
  health(now = Date.now()): { ok: boolean; problems: string[] } & Record<string, unknown> {
    const silent = this.meterState?.silent() ?? [];
    const broker = this.conn?.status() ?? null;
    const buses = [...this.workers.values()].map((w) => {
      const meters = this.cfg.meters.filter((m) => m.bus === w.bus.name).map((m) => m.id);
      return { name: w.bus.name, link: w.linkStatus(), meters, silent: meters.filter((m) => silent.includes(m)), queued: w.queued };
    });
    const { ok, problems } = judgeHealth({ now, graceMs: this.opts.config.health?.grace ?? 2 * 60_000, broker, buses, outboxProblem: this.outbox.problem });
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      ok,
      problems,
      gatewayId: this.opts.config.gateway.id,
      broker: broker && { connected: broker.connected, since: iso(broker.since), lastError: broker.lastError && { ...broker.lastError, at: iso(broker.lastError.at) }, losses: broker.losses, refusals: broker.refusals },
      mqttConnected: broker?.connected ?? false,
      outbox: { level: this.outbox.level, depth: this.outbox.depth, bytes: this.outbox.pendingBytes, ackedSeq: this.outbox.ackedSeq },
      outboxDepth: this.outbox.depth,
      outboxBytes: this.outbox.pendingBytes,
      outboxLevel: this.outbox.level,
      outboxProblem: this.outbox.problem,
      outboxHeld: this.outbox.held,
      ackedSeq: this.outbox.ackedSeq,
      silentMeters: silent.map((id) => ({ meter: id, since: this.meterState?.get(id)?.silentSince ?? null, lastSuccessAt: this.meterState?.get(id)?.lastSuccessAt ?? null })),
      buses: buses.map((b) => ({
        name: b.name,
        state: b.link.state,
        since: iso(b.link.since),
        lastError: b.link.lastError && { ...b.link.lastError, at: iso(b.link.lastError.at) },
        consecutiveFailures: b.link.consecutiveFailures,
        reopenAttempts: b.link.reopenAttempts,
        nextAttemptAt: iso(b.link.nextAttemptAt),
        meters: b.meters.length,
        silentMeters: b.silent.length,
        queued: b.queued,
      })),
      startedAt: this.startedAt,
    };
  }

  /** MQTT session, publisher and command replies on `raw.mqtt` (at start, and when set_config changes the broker settings). */
  private openMqtt(raw: GatewayConfig): void {
    const conn = connect(
      raw,
      this.startedAt,
      () => this.outbox.depth,
      () => {
        this.metrics.mqttConnected.set(1);
        this.log.info({ depth: this.outbox.depth }, 'mqtt connected');
        this.publisher?.kick();
      },
      this.log,
    );
    this.conn = conn;
    conn.client.on('close', () => {
      if (this.conn === conn) this.metrics.mqttConnected.set(0);
    });
    this.publisher = new Publisher(conn.client, this.outbox, raw.gateway.id, raw.mqtt.batchSize, {
      onPublished: (count, ms) => {
        this.metrics.published.inc(count);
        this.metrics.publishLatency.observe(ms / 1000);
        this.updateOutboxGauges();
      },
      onError: (e) => this.log.warn({ err: e.message }, 'publish interrupted; will resume on reconnect'),
    });
    this.commands?.attach(conn.client);
  }

  /**
   * Replaces the MQTT session with one on `raw.mqtt` and waits up to `withinMs` for the broker to
   * accept it. The outbox keeps what the old session had not delivered (the publisher resumes from it).
   */
  private async reconnect(raw: GatewayConfig, withinMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
    this.publisher?.stop();
    await this.publisher?.idle(2000);
    await this.conn?.close();
    this.conn = null;
    try {
      this.openMqtt(raw);
    } catch (e) {
      // e.g. a passwordFile or TLS file that cannot be read
      return { ok: false, reason: (e as Error).message };
    }
    const client = this.conn!.client;
    if (client.connected) return { ok: true };
    let lastError = '';
    return new Promise((resolve) => {
      const onError = (e: Error) => (lastError = e.message);
      const done = (r: { ok: true } | { ok: false; reason: string }) => {
        clearTimeout(timer);
        client.off('connect', onConnect);
        client.off('error', onError);
        resolve(r);
      };
      const onConnect = () => done({ ok: true });
      const timer = setTimeout(() => done({ ok: false, reason: `no broker connection within ${withinMs} ms with the new config${lastError ? `: ${lastError}` : ''}` }), withinMs);
      client.on('connect', onConnect);
      client.on('error', onError);
    });
  }

  private updateOutboxGauges(): void {
    this.metrics.outboxDepth.set(this.outbox.depth);
    this.metrics.outboxBytes.set(this.outbox.pendingBytes);
    this.metrics.outboxHeld.set(this.outbox.held);
  }

  private countMissed(m: ResolvedMeter, reason: string, n = 1): void {
    this.metrics.missed.inc({ meter: m.id, reason }, n);
    this.missedPolls.set(m.id, (this.missedPolls.get(m.id) ?? 0) + n);
  }

  raise(kind: GatewayEvent['kind'], severity: GatewayEvent['severity'], message: string, meterKey?: string, extra: { bus?: string; data?: Record<string, unknown> } = {}): void {
    const e: GatewayEvent = { v: CONTRACT_VERSION, gatewayId: this.opts.config.gateway.id, ts: new Date().toISOString(), kind, severity, message: message.slice(0, 1000) };
    if (meterKey) e.meterKey = meterKey;
    if (extra.bus) e.bus = extra.bus;
    if (extra.data) e.data = extra.data;
    this.metrics.events.inc({ kind });
    this.log[severity === 'info' ? 'info' : severity === 'warning' ? 'warn' : 'error']({ event: kind, meter: meterKey }, message);
    this.conn?.client.publish(topics.events(this.opts.config.gateway.id), JSON.stringify(e), { qos: 1 });
    this.emit('event', e);
  }

  /** One poll of one meter through its bus worker; stores the reading before publishing. */
  async poll(m: ResolvedMeter): Promise<PollOutcome | null> {
    if (this.stopping) return null;
    const refused = this.outbox.refusal(m.priority);
    if (refused) {
      this.countMissed(m, refused);
      return null;
    }
    const worker = this.workers.get(m.bus)!;
    const out = await worker.poll(m);
    const bus = worker.bus;
    if ('skipped' in out) {
      if (out.skipped === 'already_queued') this.countMissed(m, 'previous_poll_still_running');
      return out;
    }
    if (this.rawLog) {
      // Failed reads are logged too when the driver kept their frames (Modbus: the exception or
      // the damaged answer is what an installer needs to see).
      const frames = out.ok ? out.read.frames : (out.error as Error & { frames?: RawLogLine['frames'] }).frames;
      if (frames && frames.length > 0)
        this.rawLog.write({
          ts: new Date(out.startedAt).toISOString(),
          bus: bus.name,
          meter: m.id,
          protocol: bus.protocol,
          address: m.address,
          ...(m.registerMap ? { map: m.registerMap } : {}),
          frames,
          ok: out.ok,
          ...(out.ok ? {} : { error: out.error.message }),
        });
    }
    this.metrics.pollDuration.observe({ bus: bus.name }, out.durationMs / 1000);
    if (out.ok && out.read.values.length > 0) {
      this.metrics.polls.inc({ meter: m.id, bus: bus.name, result: 'ok' });
      // Empty when the disk refused it (held in memory); may include held readings journaled now.
      const at = new Date(this.opts.now ? this.opts.now() : out.startedAt);
      // Stored values (due date, month ends) go with the live reading, each once: only those newer
      // than the newest of their kind already in the outbox (kept in the meter state across restarts).
      const archives = unpublishedArchives(this.meterState?.get(m.id), out.read.archives ?? []);
      const stored = this.outbox.append([toPendingReading(m, bus, out.read, at), ...archives.map((a) => toArchiveReading(m, bus, out.read, a, at))]);
      this.updateOutboxGauges();
      const lastSuccessAt = this.meterState?.get(m.id)?.lastSuccessAt ?? null;
      // The gap's back-fill jobs are on disk before the success that ends the gap, and that success
      // is written at once, not within the state's flush interval: a kill before it would otherwise
      // leave the old last success on disk, and the restart would see the same gap again and move the
      // cursors back to its start (every record read and sent again). A kill between the two writes
      // finds the jobs and the old success: the same gap, the cursors where they were.
      if (m.backfill) this.backfill(m, lastSuccessAt);
      this.noteSuccess(m, bus.name, m.backfill !== undefined && endsGap(lastSuccessAt, this.nowMs(), { ...m.backfill, interval: m.interval }));
      // Remembered only once on disk: a reading the disk refused is held in memory, and a restart
      // before it is written must find its stored values still unpublished.
      const written = new Set(stored.filter((r) => r.meter.meterKey === m.id && r.archive).map((r) => `${r.archive!.kind}@${r.archive!.record}`));
      const published = archives.filter((a) => written.has(`${a.kind}@${a.record}`));
      if (published.length) this.meterState?.set(m.id, afterArchives(this.meterState.get(m.id), published), true);
      this.history(m, out.read, lastSuccessAt);
      this.watchIdentity(m, bus.name, out.read.serial, out.read.manufacturer, out.read.quality);
      for (const r of stored) this.emit('reading', r.seq, r.meter.meterKey);
      this.publisher?.kick();
      return out;
    }
    const err = out.ok ? new Error('meter answered but no configured quantity was in its data') : out.error;
    this.metrics.polls.inc({ meter: m.id, bus: bus.name, result: 'failed' });
    const { next, silentNow } = afterFailure(this.meterState?.get(m.id), this.isoNow(), this.opts.config.gateway.silentAfter);
    this.meterState?.set(m.id, next, true);
    const fails = next.consecutiveFailures;
    this.raise('poll_failed', 'warning', `poll of ${m.id} failed after ${out.attempts} attempt(s): ${err.message}`, m.id, { bus: bus.name, data: { attempts: out.attempts, consecutive: fails } });
    if (silentNow) this.raise('meter_silent', 'error', `meter ${m.id} failed ${fails} polls in a row`, m.id, { bus: bus.name });
    this.emit('pollFailed', m.id, err);
    return out;
  }

  private nowMs(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /**
   * After a successful poll of a meter with an archive: opens (or extends) a back-fill job per archive
   * it back-fills (hourly, daily) when the previous success is older than an interval plus slack,
   * keeps the cursor of each archive read routinely (by default the daily one) stretched to the record
   * under way, and runs the open jobs, hourly first (runtime/backfill.ts).
   */
  private backfill(m: ResolvedMeter, lastSuccessAt: string | null): void {
    const store = this.backfillStore;
    const map = registerMap(m.registerMap ?? '');
    const spec = map.archives;
    if (!store || !m.backfill || !spec) return;
    const kinds = backfillKinds(m.backfill.archives, map);
    // A job of an archive the config no longer asks for (backfill.archives changed) is dropped.
    for (const kind of ARCHIVE_ORDER) if (!kinds.includes(kind) && store.get(m.id, kind)) store.set(m.id, kind, null);
    const routine = routineKinds(m.backfill.routine, kinds);
    let open = 0;
    for (const kind of kinds) {
      const was = store.get(m.id, kind);
      const recordMs = spec.kinds[kind].seconds * 1000;
      const gap = gapJob(lastSuccessAt, this.nowMs(), { ...m.backfill, interval: m.interval }, recordMs, was, kind);
      if (gap && !isDeepStrictEqual(gap, was)) this.log.info({ meter: m.id, archive: kind, from: gap.next, until: gap.until }, `gap in polls: reading the missed ${kind === 'hourly' ? 'hours' : 'days'} from the meter archive`);
      const job = routine.includes(kind) ? routineJob(gap, lastSuccessAt, this.nowMs(), m.backfill.utcOffsetMinutes, recordMs, kind) : gap;
      if (!job) continue;
      open++;
      if (!isDeepStrictEqual(job, was)) store.set(m.id, kind, job);
    }
    if (open === 0 || this.backfills.has(m.id)) return;
    const run = this.runBackfill(m)
      .catch((e: Error) => this.log.warn({ meter: m.id, err: e.message }, 'back-fill paused; it resumes after the next successful poll'))
      .finally(() => this.backfills.delete(m.id));
    this.backfills.set(m.id, run);
  }

  /** Runs the meter's open jobs in archive order: the daily one only once no hourly record is due. */
  private async runBackfill(m: ResolvedMeter): Promise<void> {
    const map = registerMap(m.registerMap ?? '');
    for (const kind of backfillKinds(m.backfill!.archives, map)) {
      if ((await this.runBackfillJob(m, kind)) === 'paused') return;
    }
  }

  /**
   * Reads the job's due records one by one (each an exclusive use of the line, so polls interleave)
   * into the outbox. 'paused' when it stopped with due records left (outbox refusal, a disk that
   * would not write, stopping), 'idle' when nothing more is due now.
   */
  private async runBackfillJob(m: ResolvedMeter, kind: ArchiveKind): Promise<'idle' | 'paused'> {
    const worker = this.workers.get(m.bus)!;
    const map = registerMap(m.registerMap ?? '');
    const recordMs = map.archives!.kinds[kind].seconds * 1000;
    const s = m.backfill!;
    const routine = routineKinds(s.routine, backfillKinds(s.archives, map)).includes(kind);
    let job = this.backfillStore!.get(m.id, kind);
    while (job) {
      if (this.stopping) return 'paused';
      const [start] = dueRecords(job, this.nowMs(), recordMs);
      if (start === undefined) return 'idle';
      // Back-fill yields to live polls when the outbox fills up: it is the first thing paused.
      if (this.outbox.refusal('low')) return 'paused';
      const at = selectClock(start, recordMs, map.archives!.record.stamp, s.utcOffsetMinutes);
      let got: Awaited<ReturnType<NonNullable<typeof worker.driver.readArchive>>> | null = null;
      try {
        got = await worker.exclusive(async (d) => {
          if (!d.readArchive) throw new Error(`bus ${m.bus}: driver cannot read archives`);
          return d.readArchive(m, kind, at);
        });
      } catch (e) {
        // An exception answer is the meter saying it has no such record (not commissioned yet, or
        // overwritten): skipped with a warning, never retried for ever. Anything else pauses the job.
        if ((e as { modbusCode?: number }).modbusCode === undefined) throw e;
        this.log.warn({ meter: m.id, archive: kind, record: new Date(start).toISOString(), err: (e as Error).message }, 'archive record not available; skipped');
      }
      if (got) {
        this.rawLog?.write({ ts: this.isoNow(), bus: m.bus, meter: m.id, protocol: worker.bus.protocol, address: m.address, ...(m.registerMap ? { map: m.registerMap } : {}), frames: got.frames, ok: true });
        const reading = archiveReading(m, worker.bus, map, got.record, s.utcOffsetMinutes, new Date(this.nowMs()));
        const stored = this.outbox.append([reading]);
        this.updateOutboxGauges();
        for (const r of stored) this.emit('reading', r.seq, r.meter.meterKey);
        this.publisher?.kick();
        // A disk that refused the write holds the record in memory only: the cursor stays on it, so a
        // kill before the disk takes writes again reads it once more instead of losing the record.
        if (!stored.some((r) => r.archive?.record === reading.archive!.record && r.archive?.kind === reading.archive!.kind && r.meter.meterKey === m.id)) {
          this.log.warn({ meter: m.id, record: reading.archive!.record, archive: kind }, 'archive record held in memory (outbox cannot write); back-fill paused until the next successful poll');
          return 'paused';
        }
      }
      // After the append (fsynced): a crash before this line re-reads the same record, never skips it.
      job = { ...job, next: new Date(start + recordMs).toISOString() };
      // A routine archive's cursor is kept even when caught up: it is what says which records were read.
      this.backfillStore!.set(m.id, kind, jobDone(job) && !routine ? null : job);
      if (jobDone(job)) job = undefined;
    }
    return 'idle';
  }

  /**
   * After a successful poll of an M-Bus meter whose model has a history telegram (profile.history):
   * reads it — the first time, after a gap, and once after each month end on the meter's clock — as an
   * exclusive use of the line, and publishes its month ends as archive readings, each once (the newest
   * per kind in the meter state, as the normal telegram's stored values). Only a complete readout is
   * published and marks the month done: one that failed is tried again at the next poll.
   */
  private history(m: ResolvedMeter, read: MeterRead, lastSuccessAt: string | null): void {
    const worker = this.workers.get(m.bus)!;
    const profile = read.profile === undefined ? undefined : MBUS_PROFILES.find((p) => p.name === read.profile);
    const states = this.meterState;
    if (!profile?.history || !worker.driver.readHistory || !states || this.backfills.has(m.id)) return;
    // The meter's month: its clock (local time, sent without zone), else the gateway's UTC month.
    const month = (read.meterTime ?? new Date(this.nowMs()).toISOString()).slice(0, 7);
    const why = historyDue(states.get(m.id), lastSuccessAt, this.nowMs(), m.interval + 60_000, month);
    if (!why) return;
    const bus = worker.bus;
    const run = (async () => {
      // A gap's readout is owed until done, also across a restart.
      if (why === 'gap') states.set(m.id, { ...states.get(m.id)!, historyWanted: true }, true);
      if (this.outbox.refusal('low')) return;
      this.log.info({ meter: m.id, reason: why, profile: profile.name }, 'reading the meter\'s history telegram');
      const line = { bus: m.bus, meter: m.id, protocol: bus.protocol, address: m.address };
      const got = await worker.exclusive((d) => d.readHistory!(m, profile.name)).catch((e: Error & { frames?: RawLogLine['frames'] }) => {
        // The frames of a failed readout (select, telegrams, the reset) are what an installer needs to see.
        if (e.frames?.length) this.rawLog?.write({ ts: this.isoNow(), ...line, frames: e.frames, ok: false, error: e.message });
        throw e;
      });
      this.rawLog?.write({ ts: this.isoNow(), ...line, frames: got.frames, ok: true });
      if (got.resetPending) this.log.warn({ meter: m.id, err: got.resetPending }, 'history telegram read, but the reset back to the normal telegram failed; the next poll resets first');
      const fresh = unpublishedArchives(states.get(m.id), got.archives);
      const at = new Date(this.nowMs());
      const stored = this.outbox.append(fresh.map((a) => toArchiveReading(m, bus, got, a, at)));
      this.updateOutboxGauges();
      const written = new Set(stored.filter((r) => r.meter.meterKey === m.id && r.archive).map((r) => `${r.archive!.kind}@${r.archive!.record}`));
      const published = fresh.filter((a) => written.has(`${a.kind}@${a.record}`));
      const next = afterArchives(states.get(m.id), published);
      // A record the disk refused (held in memory) leaves the month to do: read again, never lost.
      const done = published.length === fresh.length;
      states.set(m.id, done ? { ...next, historyMonth: month, historyWanted: undefined } : next, true);
      for (const r of stored) this.emit('reading', r.seq, r.meter.meterKey);
      this.publisher?.kick();
    })()
      .catch((e: Error) => this.log.warn({ meter: m.id, err: e.message }, 'history telegram not read; tried again at the next successful poll'))
      .finally(() => this.backfills.delete(m.id));
    this.backfills.set(m.id, run);
  }

  /** Resolves when the meter's running back-fill (if any) has stopped. */
  async backfillIdle(meterId: string): Promise<void> {
    await this.backfills.get(meterId);
  }

  /** The meter's unfinished back-fill of that archive, if any. */
  backfillJob(meterId: string, kind: ArchiveKind = 'hourly') {
    return this.backfillStore?.get(meterId, kind);
  }

  private isoNow(): string {
    return new Date(this.opts.now ? this.opts.now() : Date.now()).toISOString();
  }

  private noteSuccess(m: ResolvedMeter, bus: string, gapEnded = false): void {
    const before = this.meterState?.get(m.id);
    const { next, back } = afterSuccess(before, this.isoNow());
    // Written at once when the meter changes state or a gap ends; a routine success only within the flush interval.
    this.meterState?.set(m.id, next, gapEnded || (before?.consecutiveFailures ?? 0) > 0 || before === undefined);
    if (back) this.raise('meter_back', 'info', `meter ${m.id} answers again (silent since ${back.silentSince})`, m.id, { bus, data: { silentSince: back.silentSince, failedPolls: back.failures } });
  }

  private watchIdentity(m: ResolvedMeter, bus: string, serial: string | undefined, manufacturer: string | undefined, quality: string[]): void {
    if (serial) {
      const id = `${manufacturer ?? ''}:${serial}`;
      const before = this.serials[m.id];
      if (before !== id) {
        if (before !== undefined) this.raise('meter_swapped', 'warning', `meter ${m.id}: ${before} replaced by ${id} behind address ${m.address}`, m.id, { bus, data: { before, after: id } });
        this.serials[m.id] = id;
        const file = join(this.opts.config.gateway.bufferDir, 'serials.json');
        try {
          writeFileSync(`${file}.tmp`, JSON.stringify(this.serials));
          renameSync(`${file}.tmp`, file);
        } catch (e) {
          // Disk full: polling must go on. The serial is kept in memory and written with the next swap seen;
          // a restart before that forgets it, so a swap in between goes unnoticed once.
          this.log.warn({ err: (e as Error).message }, 'serials.json not written');
        }
      }
    }
    if (quality.includes('clock_far_off')) {
      if (!this.clockOff.has(m.id)) this.raise('clock_far_off', 'warning', `meter ${m.id}: clock differs from the gateway by more than ${this.opts.config.gateway.clockTolerance} ms`, m.id, { bus });
      this.clockOff.add(m.id);
    } else this.clockOff.delete(m.id);
  }

  /** Polls every meter, one (`meterId`) or several; an unknown meter id fails the whole command, naming it and the known ones. */
  async pollNow(meterId?: string | string[]): Promise<unknown> {
    const wanted = meterId === undefined ? null : [meterId].flat();
    const unknown = wanted?.filter((id) => !this.cfg.meters.some((m) => m.id === id)) ?? [];
    if (unknown.length > 0) {
      const known = this.cfg.meters.map((m) => m.id);
      throw new Error(`no meter ${unknown.map((id) => `"${id}"`).join(', ')}; configured: ${known.slice(0, 50).join(', ')}${known.length > 50 ? ' …' : ''}`);
    }
    const meters = wanted ? this.cfg.meters.filter((m) => wanted.includes(m.id)) : this.cfg.meters;
    const outs = await Promise.all(meters.map((m) => this.poll(m)));
    return meters.map((m, i) => {
      const o = outs[i];
      return { meter: m.id, ok: !!o && o.ok, error: o && !o.ok && 'error' in o ? o.error.message : undefined };
    });
  }

  async scanBus(busName: string, mode: 'primary' | 'secondary' | 'ids', from?: number, to?: number): Promise<unknown> {
    const w = this.workers.get(busName);
    if (!w) throw new Error(`no bus "${busName}"`);
    const progress: string[] = [];
    const hits = await w.exclusive(async (d) => {
      if (!d.scan) throw new Error(`bus ${busName}: driver cannot scan`);
      return d.scan({ mode, from, to }, (msg) => progress.push(msg));
    });
    return { hits, progress: progress.slice(-200) };
  }

  /**
   * Validates a new config (as `amr-gateway check` does), then applies it:
   *  - other broker settings (URL, credentials, TLS …): the MQTT session is replaced at once, and if the
   *    broker has not accepted the new one within `configConfirmMs`, the previous config is restored
   *    (its session reconnected), a `config_rolled_back` event says so, and the reply is ok:false with
   *    `rolledBack: true`. A wrong password sent remotely must not cut the gateway off for good.
   *  - then the file is written atomically (the old one kept as .prev) and `config_applied` raised;
   *  - buses, meters and the rest take effect when the service restarts, which it asks for at once;
   *    the CLI starts with the new file and falls back to .prev if that start fails (`.pending`).
   */
  async setConfig(input: Record<string, unknown>): Promise<SetConfigResult | CommandOutcome> {
    const run = this.configChange.then(() => this.changeConfig(input));
    this.configChange = run.catch(() => undefined);
    return run;
  }

  private async changeConfig(input: Record<string, unknown>): Promise<SetConfigResult | CommandOutcome> {
    if (!this.opts.configFile) throw new Error('set_config needs the gateway to run from a config file (amr-gateway run --config FILE)');
    input = unredact(input, this.opts.config);
    const cfg = validateConfig(input, 'set_config');
    const resolved = resolveConfig(cfg); // the checks `amr-gateway check` makes beyond the schema
    const prev = this.opts.config;
    if (cfg.gateway.id !== prev.gateway.id) throw new Error(`gateway.id cannot be changed remotely (it is "${prev.gateway.id}"; the head-end and the broker know the gateway by it)`);
    const counts = { meters: resolved.meters.length, buses: resolved.buses.length };
    if (!isDeepStrictEqual(cfg.mqtt, prev.mqtt)) {
      const bound = this.opts.configConfirmMs ?? 20_000;
      const tried = await this.reconnect(cfg, bound);
      if (!tried.ok) {
        const back = await this.reconnect(prev, bound);
        const reason = tried.reason;
        this.raise('config_rolled_back', 'error', `new config rolled back, previous restored: ${reason}`, undefined, {
          data: { reason, reconnected: back.ok },
        });
        const result: SetConfigResult = { applied: false, rolledBack: true, reason, ...counts };
        return new CommandOutcome(false, result, `new config rolled back: ${reason}`);
      }
    }
    const rest = (c: GatewayConfig) => ({ ...c, mqtt: null });
    const restarting = !isDeepStrictEqual(rest(cfg), rest(prev));
    const file = this.opts.configFile;
    writeFileSync(`${file}.new`, stringify(input));
    if (existsSync(file)) writeFileSync(`${file}.prev`, readFileSync(file));
    renameSync(`${file}.new`, file);
    if (restarting) writeFileSync(`${file}.pending`, new Date().toISOString());
    this.opts.config = cfg;
    this.raise('config_applied', 'info', restarting ? 'new config accepted; restarting to apply buses and meters' : 'new config applied', undefined, {
      data: { restarting },
    });
    if (restarting) setTimeout(() => this.opts.onRestartRequested?.('config changed'), 200);
    return { applied: true, rolledBack: false, restarting, ...counts };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.scheduler?.stop();
    await Promise.all([...this.workers.values()].map((w) => w.close()));
    await Promise.allSettled([...this.backfills.values()]);
    await this.publisher?.idle();
    this.publisher?.stop();
    await this.conn?.close('shutdown');
    await this.healthServer?.close();
    this.meterState?.flush();
    const lost = this.outbox.close();
    if (lost > 0) this.log.error({ readings: lost }, 'outbox: readings held in memory could not be written before stopping (disk still refusing)');
  }
}

/**
 * The reopen back-off of a bus never exceeds half its shortest poll interval: a device that returns
 * is then reopened before the meters' next-but-one poll, so every meter answers within two intervals
 * (a bus polled every 10 s with the 30 s default would otherwise miss three).
 */
export function reopenCap(min: number, max: number, meters: readonly ResolvedMeter[]): number {
  const shortest = Math.min(...meters.map((m) => m.interval));
  return Number.isFinite(shortest) ? Math.max(min, Math.min(max, Math.floor(shortest / 2))) : max;
}

/** What get_config shows instead of a secret; set_config reads it back as "keep the current one". */
export const REDACTED = '***';

/** Config as returned by get_config: secrets replaced (the MQTT password, and one written into the broker URL). */
export function redact(cfg: GatewayConfig): GatewayConfig {
  const c = structuredClone(cfg);
  if (c.mqtt.password !== undefined) c.mqtt.password = REDACTED;
  c.mqtt.url = redactUrl(c.mqtt.url);
  return c;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = REDACTED;
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * A config edited from get_config's answer carries the redaction marker where the secrets were:
 * they mean "unchanged", not a new password of three asterisks.
 */
export function unredact(input: Record<string, unknown>, current: GatewayConfig): Record<string, unknown> {
  const mqtt = input.mqtt;
  if (typeof mqtt !== 'object' || mqtt === null || Array.isArray(mqtt)) return input;
  const m = { ...(mqtt as Record<string, unknown>) };
  if (m.password === REDACTED && current.mqtt.password !== undefined) m.password = current.mqtt.password;
  if (typeof m.url === 'string' && m.url !== current.mqtt.url && m.url === redactUrl(current.mqtt.url)) m.url = current.mqtt.url;
  return { ...input, mqtt: m };
}
