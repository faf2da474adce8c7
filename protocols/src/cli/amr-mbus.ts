/**
 * `amr-mbus decode <file.hex | ->`: decodes an M-Bus long frame written as hex (as in libmbus's
 * test data) and prints JSON, canonical or `--format libmbus`. The only I/O edge of the codec:
 * the decoding itself is the pure `decodeTelegram`.
 *
 * Exit codes: 0 decoded; 1 bad input (not hex, not a frame, typed decode error); 2 usage;
 * 3 decoded partially (JSON printed, the problem on stderr).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MbusDecodeError, decodeTelegram, parseHex, toLibmbusFormat } from '../mbus/app/index.js';

const USAGE = `usage: amr-mbus decode <file.hex | -> [--format json|libmbus] [--compact]
  Reads space-separated hex of M-Bus long frames (68 L L 68 ... 16) and prints them decoded as JSON
  (one frame: an object; several, e.g. a multi-telegram readout: an array).
  --format libmbus   libmbus normalised-XML shape: {SlaveInformation, DataRecord[]}
  --compact          one line of JSON`;

function fail(code: number, message: string): never {
  process.stderr.write(`amr-mbus: ${message}\n`);
  process.exit(code);
}

function readInput(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    return fail(1, `cannot read ${path === '-' ? 'stdin' : path}: ${(err as Error).message}`);
  }
}

function main(argv: string[]): void {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string', default: 'json' },
        compact: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return fail(2, `${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [command, file, ...extra] = positionals;
  if (command !== 'decode') return fail(2, `${command ? `unknown command "${command}"` : 'missing command'}\n${USAGE}`);
  if (!file) return fail(2, `decode needs a file name or - for stdin\n${USAGE}`);
  if (extra.length) return fail(2, `unexpected arguments: ${extra.join(' ')}\n${USAGE}`);
  if (values.format !== 'json' && values.format !== 'libmbus') return fail(2, `--format must be json or libmbus, got "${values.format}"`);

  const text = readInput(file);
  let bytes: Uint8Array;
  try {
    bytes = parseHex(text);
  } catch (err) {
    return fail(1, `${file}: ${(err as Error).message}`);
  }
  if (bytes.length === 0) return fail(1, `${file}: no hex bytes in input`);
  const outputs: unknown[] = [];
  let partial = false;
  for (const { at, frame } of splitFrames(bytes)) {
    try {
      const t = decodeTelegram(frame);
      outputs.push(values.format === 'libmbus' ? toLibmbusFormat(t) : t);
      if (t.partial) {
        process.stderr.write(`amr-mbus: ${file}: frame at byte ${at} decoded partially: ${t.partial.reason}\n`);
        partial = true;
      }
    } catch (err) {
      if (err instanceof MbusDecodeError) {
        const where = at === 0 ? '' : ` (frame starting at byte ${at})`;
        return fail(1, `${file}${where}: ${err.code}: ${err.message}`);
      }
      throw err;
    }
  }
  // One frame prints one object; a capture of several (a multi-telegram readout) prints an array.
  const out = outputs.length === 1 ? outputs[0] : outputs;
  process.stdout.write(`${JSON.stringify(out, null, values.compact ? undefined : 2)}\n`);
  if (partial) process.exitCode = 3;
}

/** Cuts a capture into long frames by their L field; single-character acks (E5) are skipped. */
function* splitFrames(b: Uint8Array): Generator<{ at: number; frame: Uint8Array }> {
  let pos = 0;
  while (pos < b.length) {
    if (b[pos] === 0xe5) {
      pos++;
      continue;
    }
    const end = b[pos] === 0x68 && pos + 1 < b.length ? Math.min(b.length, pos + b[pos + 1] + 6) : b.length;
    yield { at: pos, frame: b.subarray(pos, end) };
    pos = end;
  }
}

main(process.argv.slice(2));
