// amr-sim: start simulated meters from the command line (see simulators/README.md).
//   amr-sim building --config FILE [--truth FILE] [--speed N] [--no-pacing] [--fault SPEC]… [--state FILE] [--link-dir DIR]
// Prints ONE JSON line with every endpoint opened, runs until SIGINT/SIGTERM; logs go to stderr.
import { pino } from 'pino';
import { USAGE, runCli } from './run.js';

const log = pino({ name: 'amr-sim' }, pino.destination(2));

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

runCli(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`), log).then(
  (h) => {
    const stop = (sig: string) => {
      log.info({ sig }, 'stopping');
      h.stop().then(() => process.exit(0), (e: Error) => { log.error(e, 'stop failed'); process.exit(1); });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  },
  (e: Error) => {
    process.stderr.write(`amr-sim: ${e.message}\n`);
    // 2: a wrong command line (unknown option, command or --fault spelling); 1: anything else
    const usage = e.message.includes('usage:') || e.message.startsWith('--') || (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    process.exit(usage ? 2 : 1);
  },
);
