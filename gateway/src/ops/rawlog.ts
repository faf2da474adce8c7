/**
 * Optional raw telegram log: one JSON line per transaction (time, bus, meter, protocol, frames in
 * hex; M-Bus, Modbus and pulse alike), rotated by size into N files. `amr-gateway replay FILE` feeds it back through the decoders
 * so a field problem can be reproduced on a desk.
 */
import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface RawLogLine {
  ts: string;
  bus: string;
  meter: string;
  protocol: 'mbus' | 'modbus' | 'pulse';
  address: string;
  /** Modbus: the register map the frames were read with (replay decodes with it). */
  map?: string;
  frames: { dir: 'tx' | 'rx'; hex: string }[];
  ok: boolean;
  /** Why a failed read failed (its frames are logged too). */
  error?: string;
}

export class RawLog {
  private readonly file: string;
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    readonly files: number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'telegrams.jsonl');
  }

  /** Lines not written because the disk refused them (full): diagnostics must never stop polling. */
  dropped = 0;

  write(line: RawLogLine): void {
    const text = `${JSON.stringify(line)}\n`;
    try {
      if (existsSync(this.file) && statSync(this.file).size + text.length > this.maxBytes) this.rotate();
      appendFileSync(this.file, text);
    } catch {
      this.dropped++;
    }
  }

  private rotate(): void {
    rmSync(`${this.file}.${this.files - 1}`, { force: true });
    for (let i = this.files - 2; i >= 1; i--) if (existsSync(`${this.file}.${i}`)) renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
    if (this.files > 1) renameSync(this.file, `${this.file}.1`);
    else rmSync(this.file, { force: true });
  }
}
