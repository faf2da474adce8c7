/** pino logger shared by the runtime and CLI (JSON to stdout; under systemd the journal takes it from there). */
import { pino, type Logger } from 'pino';

export function createLogger(level = process.env.AMR_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { svc: 'amr-gateway' } });
}
export type { Logger };
