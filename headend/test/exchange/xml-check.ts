/**
 * The structure docs/exchange/README.md and readings.xsd describe, checked on an exported file with
 * fast-xml-parser (no XSD validator is among the dependencies). Returns the root and its readings.
 */
import { expect } from 'vitest';
import { XMLParser } from 'fast-xml-parser';

const ATTRIBUTES = ['serial', 'account', 'address', 'premise', 'resource', 'quantity', 'time', 'value', 'unit', 'source', 'version'];
const RESOURCES = ['heat', 'hot_water', 'cold_water', 'wastewater', 'electricity', 'gas'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The root element as the parser gives it: its attributes as text, its reading elements (none: absent). */
export interface ReadingsRoot {
  format_version: string; org_id: string; building_id?: string; from: string; to: string; generated_at: string; count: string;
  reading?: Array<Record<string, string>>;
}

export function expectDocumentedXml(xml: string): { root: ReadingsRoot; readings: Array<Record<string, string>> } {
  expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'reading' }).parse(xml) as Record<string, unknown>;
  expect(Object.keys(doc).filter((k) => k !== '?xml')).toEqual(['readings']);
  // Its shape is what the expectations below check, attribute by attribute.
  const root = doc.readings as ReadingsRoot;
  expect(root.format_version).toBe('1');
  expect(root.org_id).toMatch(/^\d+$/);
  for (const a of ['from', 'to', 'generated_at'] as const) expect(root[a]).toMatch(ISO);
  const readings: Array<Record<string, string>> = root.reading ?? [];
  expect(root.count).toBe(String(readings.length));
  for (const r of readings) {
    for (const a of ['serial', 'time']) expect(r[a]).toBeTruthy();
    expect(Object.keys(r).every((k) => ATTRIBUTES.includes(k))).toBe(true);
    expect(Number.isFinite(Number(r.value))).toBe(true);
    expect(RESOURCES).toContain(r.resource);
  }
  return { root, readings };
}
