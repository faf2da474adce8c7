/**
 * The readings exchange XML (docs/exchange/readings.xsd, docs/exchange/README.md): build it from the
 * readings list, and read it back into import rows (the same rows the Excel import checks).
 */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { SourceRow } from '../import/index.js';
import type { ListedReading } from './readings-list.js';

export const XML_FORMAT_VERSION = '1';

export interface XmlHeader { orgId: number; buildingId?: number | null; from: Date; to: Date; generatedAt: Date }

export function readingsXml(h: XmlHeader, rows: ListedReading[]): string {
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', format: true, suppressEmptyNode: true });
  const doc = {
    '?xml': { '@version': '1.0', '@encoding': 'UTF-8' },
    readings: {
      '@format_version': XML_FORMAT_VERSION,
      '@org_id': String(h.orgId),
      ...(h.buildingId ? { '@building_id': String(h.buildingId) } : {}),
      '@from': h.from.toISOString(),
      '@to': h.to.toISOString(),
      '@generated_at': h.generatedAt.toISOString(),
      '@count': String(rows.length),
      reading: rows.map((r) => ({
        '@serial': r.serial,
        ...(r.account ? { '@account': r.account } : {}),
        '@address': r.address,
        ...(r.premise ? { '@premise': r.premise } : {}),
        '@resource': r.resource,
        '@quantity': r.quantity,
        '@time': r.time.toISOString(),
        ...(r.value === null ? {} : { '@value': String(r.value) }),
        '@unit': r.unit,
        '@source': r.source,
        '@version': String(r.version),
      })),
    },
  };
  return builder.build(doc);
}

export class XmlFileError extends Error {}

const isElement = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `<reading>` elements → import rows. Row numbers are the reading's position (1-based) in the file,
 * columns are attribute names; `time` feeds the import's `date` column. An account, when present,
 * names the place; otherwise address + premise do. `zone` (1 day, 2 night, 3 peak) names the register
 * of a multi-zone meter.
 */
export function xmlToRows(xml: string): { columns: string[]; rows: SourceRow[] } {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, isArray: (name) => name === 'reading' });
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (e) {
    throw new XmlFileError(`not well-formed XML: ${(e as Error).message}`);
  }
  const root = isElement(doc) ? doc.readings : undefined;
  if (!isElement(root)) throw new XmlFileError('root element <readings> is missing');
  if (root.format_version !== XML_FORMAT_VERSION) throw new XmlFileError(`<readings format_version="${typeof root.format_version === 'string' ? root.format_version : ''}">: expected "${XML_FORMAT_VERSION}"`);
  // Attribute values stay text (parseAttributeValue: false); an element without attributes parses as '' and has none.
  const readings: Record<string, string | undefined>[] = (Array.isArray(root.reading) ? (root.reading as unknown[]) : []).map((r) => (isElement(r) ? (r as Record<string, string>) : {}));
  const rows: SourceRow[] = readings.map((r, i) => ({
    row: i + 1,
    values: {
      serial: r.serial ?? '', date: r.time ?? '', value: r.value ?? '', ...(r.zone !== undefined ? { zone: r.zone } : {}),
      ...(r.account ? { account: r.account.split(',')[0] } : { address: r.address ?? '', premise: r.premise ?? '' }),
    },
  }));
  const columns = ['serial', 'date', 'value', ...(readings.some((r) => r.zone !== undefined) ? ['zone'] : []), ...(rows.every((r) => 'account' in r.values) ? ['account'] : ['account', 'address', 'premise'])];
  return { columns, rows };
}
