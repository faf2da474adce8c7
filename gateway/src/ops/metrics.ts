/**
 * Prometheus metrics of one gateway instance, on its own registry (several gateways may share a
 * process in tests; the default registry would make them collide).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly polls = new Counter({ name: 'amr_gateway_polls_total', help: 'Polls per meter by result (ok, failed)', labelNames: ['meter', 'bus', 'result'], registers: [this.registry] });
  readonly missed = new Counter({ name: 'amr_gateway_missed_polls_total', help: 'Scheduled polls not performed, by reason', labelNames: ['meter', 'reason'], registers: [this.registry] });
  readonly pollDuration = new Histogram({ name: 'amr_gateway_poll_duration_seconds', help: 'Time of one poll transaction incl. retries', labelNames: ['bus'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers: [this.registry] });
  readonly busBusy = new Counter({ name: 'amr_gateway_bus_busy_seconds_total', help: 'Time each bus spent in transactions; rate() of it is the busy share', labelNames: ['bus'], registers: [this.registry] });
  readonly lineDrained = new Counter({ name: 'amr_gateway_line_drained_bytes_total', help: 'Late bytes (the rest of an earlier answer) discarded before a request, per bus', labelNames: ['bus'], registers: [this.registry] });
  readonly outboxDepth = new Gauge({ name: 'amr_gateway_outbox_depth', help: 'Readings stored and not yet acknowledged by the broker', registers: [this.registry] });
  readonly outboxBytes = new Gauge({ name: 'amr_gateway_outbox_bytes', help: 'Bytes of unacknowledged readings', registers: [this.registry] });
  readonly outboxLevel = new Gauge({ name: 'amr_gateway_outbox_near_full', help: '0 ok, 1 near full, 2 full', registers: [this.registry] });
  readonly outboxHeld = new Gauge({ name: 'amr_gateway_outbox_held', help: 'Readings held in memory because the outbox disk refuses writes', registers: [this.registry] });
  readonly outboxStorageFailed = new Gauge({ name: 'amr_gateway_outbox_storage_failed', help: '1 while the outbox disk refuses writes (full, quota, I/O error)', registers: [this.registry] });
  readonly outboxStorageErrors = new Counter({ name: 'amr_gateway_outbox_storage_errors_total', help: 'Failed outbox disk operations by operation and errno code', labelNames: ['op', 'code'], registers: [this.registry] });
  readonly published = new Counter({ name: 'amr_gateway_readings_published_total', help: 'Readings acknowledged by the broker', registers: [this.registry] });
  readonly publishLatency = new Histogram({ name: 'amr_gateway_publish_latency_seconds', help: 'PUBLISH to PUBACK of one readings batch', buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [this.registry] });
  readonly busUp = new Gauge({ name: 'amr_gateway_bus_up', help: '1 while the bus line is open, 0 while it is lost and being reopened', labelNames: ['bus'], registers: [this.registry] });
  readonly busLosses = new Counter({ name: 'amr_gateway_bus_losses_total', help: 'Bus lines lost (device gone, converter restarted, every meter timing out), by code', labelNames: ['bus', 'code'], registers: [this.registry] });
  readonly mqttConnected = new Gauge({ name: 'amr_gateway_mqtt_connected', help: '1 when connected to the broker', registers: [this.registry] });
  readonly events = new Counter({ name: 'amr_gateway_events_total', help: 'Events raised by kind', labelNames: ['kind'], registers: [this.registry] });

  constructor(defaults = false) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }
}
