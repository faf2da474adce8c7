// Shared by the corpus tests: locating libmbus's test frames and reading its normalised XML.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';

const here = dirname(fileURLToPath(import.meta.url));
/** `../shared/testdata/mbus/libmbus` relative to the repo root (protocols/test/mbus → ../../../). */
export const LIBMBUS_DIR = resolve(here, '../../../../shared/testdata/mbus/libmbus');

export function corpusDir(sub: string): string {
  const dir = join(LIBMBUS_DIR, sub);
  if (!existsSync(dir)) throw new Error(`libmbus test data missing: ${dir} (expected ../shared/testdata/mbus/libmbus from the repo root)`);
  return dir;
}

export function listHex(sub: string): string[] {
  return readdirSync(corpusDir(sub))
    .filter((f) => f.endsWith('.hex'))
    .sort();
}

export function readHexFile(sub: string, name: string): string {
  return readFileSync(join(corpusDir(sub), name), 'latin1');
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === 'DataRecord',
});

export interface LibmbusXml {
  SlaveInformation: Record<string, string>;
  DataRecord: Array<Record<string, string>>;
}

/** The XML beside a frame (`.norm.xml` or `.xml`), or undefined when libmbus gave none. */
export function readXml(sub: string, hexName: string, ext: '.norm.xml' | '.xml'): LibmbusXml | undefined {
  const p = join(corpusDir(sub), hexName.replace(/\.hex$/, ext));
  if (!existsSync(p)) return undefined;
  // The files say ISO-8859-1 but libmbus wrote UTF-8 bytes (°C is C2 B0), so read them as UTF-8.
  const doc = parser.parse(readFileSync(p, 'utf8')) as { MBusData: Partial<LibmbusXml> };
  // An empty <DataRecord id="n"></DataRecord> parses as a bare string: libmbus knew nothing of it.
  const records = (doc.MBusData.DataRecord ?? []).map((r) => (typeof r === 'object' ? r : {}));
  return { SlaveInformation: doc.MBusData.SlaveInformation ?? {}, DataRecord: records };
}
