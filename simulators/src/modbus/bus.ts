// Modbus slaves on one bus: RTU over a pty (or RTU-over-TCP), or Modbus/TCP (MBAP) on a port.
//
// Own framing instead of modbus-serial's ServerSerial/ServerTCP because those serve a single unit id
// per port, write answers at once (no line pacing or turnaround) and cannot send a corrupted CRC on
// request; a real RS-485 segment carries several meters and the gateway must meet all three.
// The framing itself is the pure code in @amr/protocols (encodeRtu, rtuRequestLength, ...).
import {
  ModbusException, ModbusFn, REGISTER_MAPS, encodeRegisters, encodeRtu, exceptionPdu, readResponsePdu,
  rtuCrcOk, rtuRequestLength, type RegisterMap,
} from '@amr/protocols';
import type { LineFaults } from '../faults.js';
import { serveLine, type Endpoint, type Pluggable, type Reply, type Session, type TransportOptions } from '../transport/line.js';
import type { LineTimingInput } from '../transport/timing.js';

export interface ModbusSlave {
  unitId: number;
  /** A RegisterMap or the id of one in REGISTER_MAPS ('sdm630', 'sdm120', 'amr-heat-calc', 'tv7'). */
  map: RegisterMap | string;
  /** Current values by entry name; called on every request. */
  read: () => Readonly<Record<string, number>>;
  /** Mutable: flip at run time. */
  faults?: LineFaults;
  /**
   * Holding registers served where the map has no entry (a calculator's archive window, filled by
   * the last select write; the unmapped rest of its documented ranges). Called on every read.
   */
  extraHolding?: () => ReadonlyMap<number, number>;
  /**
   * FC 06 / FC 16 writes to holding registers. Returns a Modbus exception code to refuse the write.
   * Without it the slave refuses every write with "illegal function", as metering-only slaves do.
   */
  write?: (address: number, words: number[]) => number | undefined;
}

export interface ModbusBusOptions {
  transport?: TransportOptions;
  /** 'rtu' (default on pty) or 'mbap' (Modbus/TCP, default on tcp). */
  framing?: 'rtu' | 'mbap';
  timing?: LineTimingInput;
  slaves: ModbusSlave[];
}

export interface ModbusBus extends Pluggable {
  endpoint: Endpoint;
  framing: 'rtu' | 'mbap';
  slaves: ModbusSlave[];
  /** Requests seen per unit id (for tests and the building's statistics). */
  stats: { requests: number; crcErrorsIn: number; exceptions: number };
  close(): Promise<void>;
}

function resolveMap(m: RegisterMap | string): RegisterMap {
  if (typeof m !== 'string') return m;
  const map = REGISTER_MAPS[m];
  if (!map) throw new Error(`unknown modbus register map "${m}" (known: ${Object.keys(REGISTER_MAPS).join(', ')})`);
  return map;
}

/** Answers one PDU for one slave; undefined = stay silent. */
function answerPdu(slave: ModbusSlave & { rmap: RegisterMap }, pdu: Buffer, stats: ModbusBus['stats']): Buffer {
  const fn = pdu[0];
  if ((fn === ModbusFn.writeSingle || fn === ModbusFn.writeMultiple) && slave.write) return answerWrite(slave.write, pdu, stats);
  if (fn !== ModbusFn.readHolding && fn !== ModbusFn.readInput) {
    stats.exceptions++;
    return exceptionPdu(fn, ModbusException.illegalFunction);
  }
  const start = pdu.readUInt16BE(1);
  const count = pdu.readUInt16BE(3);
  if (count < 1 || count > 125) {
    stats.exceptions++;
    return exceptionPdu(fn, ModbusException.illegalDataValue);
  }
  const image = encodeRegisters(slave.rmap, slave.read())[fn === ModbusFn.readInput ? 'input' : 'holding'];
  const extra = fn === ModbusFn.readHolding ? slave.extraHolding?.() : undefined;
  const words: number[] = [];
  for (let a = start; a < start + count; a++) {
    const w = image.get(a) ?? extra?.get(a);
    if (w === undefined) {
      stats.exceptions++;
      return exceptionPdu(fn, ModbusException.illegalDataAddress);
    }
    words.push(w);
  }
  return readResponsePdu(fn, words);
}

/** FC 06 echoes the request; FC 16 answers with its address and count. */
function answerWrite(write: NonNullable<ModbusSlave['write']>, pdu: Buffer, stats: ModbusBus['stats']): Buffer {
  const fn = pdu[0];
  const address = pdu.readUInt16BE(1);
  let words: number[];
  if (fn === ModbusFn.writeSingle) {
    words = [pdu.readUInt16BE(3)];
  } else {
    const count = pdu.readUInt16BE(3);
    if (count < 1 || count > 123 || pdu[5] !== count * 2 || pdu.length < 6 + count * 2) {
      stats.exceptions++;
      return exceptionPdu(fn, ModbusException.illegalDataValue);
    }
    words = Array.from({ length: count }, (_, i) => pdu.readUInt16BE(6 + i * 2));
  }
  const refused = write(address, words);
  if (refused !== undefined) {
    stats.exceptions++;
    return exceptionPdu(fn, refused);
  }
  // Both answers are the request's first five bytes: FC 06 its address and value, FC 16 its address and count.
  return Buffer.from(pdu.subarray(0, 5));
}

export async function startModbusBus(opts: ModbusBusOptions): Promise<ModbusBus> {
  const transport = opts.transport ?? { kind: 'pty' };
  const framing = opts.framing ?? (transport.kind === 'tcp' ? 'mbap' : 'rtu');
  const slaves = opts.slaves.map((s) => Object.assign(s, { rmap: resolveMap(s.map), faults: s.faults ?? {} }));
  const byUnit = new Map(slaves.map((s) => [s.unitId, s]));
  if (byUnit.size !== slaves.length) throw new Error('modbus bus: duplicate unit id');
  for (const s of slaves) if (s.unitId < 1 || s.unitId > 247) throw new Error(`modbus unit id must be 1…247, got ${s.unitId}`);
  const stats = { requests: 0, crcErrorsIn: 0, exceptions: 0 };

  const respond = (unit: number, pdu: Buffer, send: (pdu: Buffer, corrupt: boolean) => void) => {
    stats.requests++;
    const slave = byUnit.get(unit);
    if (!slave || slave.faults.silent) return; // absent or dead: the master times out
    send(answerPdu(slave, pdu, stats), !!slave.faults.badChecksum);
  };

  const rtuSession = (): Session => {
    let buf = Buffer.alloc(0);
    return {
      onData(chunk: Buffer, reply: Reply) {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const len = rtuRequestLength(buf);
          if (len === undefined || buf.length < len) return;
          const frame = buf.subarray(0, len);
          if (!rtuCrcOk(frame)) {
            // A slave ignores a damaged frame and resynchronises on the next silence: drop all buffered.
            stats.crcErrorsIn++;
            buf = Buffer.alloc(0);
            return;
          }
          buf = buf.subarray(len);
          respond(frame[0], Buffer.from(frame.subarray(1, len - 2)), (pdu, corrupt) => {
            const out = encodeRtu(frame[0], pdu);
            if (corrupt) out[out.length - 1] ^= 0x5a;
            void reply(out);
          });
        }
      },
    };
  };

  const mbapSession = (): Session => {
    let buf = Buffer.alloc(0);
    return {
      onData(chunk: Buffer, reply: Reply) {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 7) {
          const len = buf.readUInt16BE(4);
          if (buf.length < 6 + len) return;
          const tid = buf.readUInt16BE(0);
          const unit = buf[6];
          const pdu = Buffer.from(buf.subarray(7, 6 + len));
          buf = buf.subarray(6 + len);
          respond(unit, pdu, (out, corrupt) => {
            const head = Buffer.alloc(7);
            head.writeUInt16BE(tid, 0);
            head.writeUInt16BE(0, 2);
            head.writeUInt16BE(out.length + 1, 4);
            head[6] = unit;
            // MBAP has no CRC; a "bad checksum" slave sends a truncated PDU instead.
            void reply(Buffer.concat([head, corrupt ? out.subarray(0, 1) : out]));
          });
        }
      },
    };
  };

  const timing = { bitsPerChar: 10, turnaroundMs: 5, baud: 9600, ...opts.timing };
  const line = await serveLine(transport, timing, framing === 'rtu' ? rtuSession : mbapSession);
  return { endpoint: line.endpoint, framing, slaves, stats, close: () => line.close(), unplug: () => line.unplug(), replug: () => line.replug() };
}
