/**
 * Reads back what a pdfkit PDF shows, page by page, with no PDF library: the objects, their
 * (deflated) streams, each font's ToUnicode map, and per page the text lines (one per text object)
 * and the filled rectangles (`re`), in pdfkit's top-left coordinates. Enough for pdfkit's own output
 * (embedded TrueType fonts write glyph ids as 4-digit hex strings), not for PDFs in general.
 */
import { inflateSync } from 'node:zlib';

export interface PdfPage { lines: string[]; text: string; rects: Array<{ x: number; y: number; w: number; h: number }> }

interface PdfObject { dict: string; stream: Buffer | null }

function objects(pdf: Buffer): Map<number, PdfObject> {
  const s = pdf.toString('latin1');
  const out = new Map<number, PdfObject>();
  const re = /(\d+) 0 obj\s*([\s\S]*?)endobj/g;
  for (let m; (m = re.exec(s));) {
    const body = m[2];
    const at = body.search(/stream\r?\n/);
    if (at < 0) { out.set(Number(m[1]), { dict: body, stream: null }); continue; }
    const start = body.indexOf('\n', at) + 1;
    const dict = body.slice(0, at);
    // The stream's bytes are exactly /Length long (pdfkit writes it as a number). Trimming a line end
    // before `endstream` instead would eat a deflated stream's own last byte whenever it is a CR.
    const length = /\/Length\s+(\d+)(?!\s+0\s+R)/.exec(dict);
    const end = length ? start + Number(length[1]) : body.lastIndexOf('\nendstream');
    const raw = Buffer.from(body.slice(start, end), 'latin1');
    out.set(Number(m[1]), { dict, stream: /\/FlateDecode/.test(dict) ? inflateSync(raw) : raw });
  }
  return out;
}

const ref = (dict: string, key: string): number | null => {
  const m = new RegExp(`/${key}\\s+(\\d+) 0 R`).exec(dict);
  return m ? Number(m[1]) : null;
};

/** Glyph id → text, from a ToUnicode CMap's bfrange arrays (the only form pdfkit writes). */
function toUnicode(cmap: string): Map<number, string> {
  const map = new Map<number, string>();
  const hex = (h: string) => String.fromCharCode(...h.trim().split(/\s+/).map((x) => parseInt(x, 16)));
  for (const m of cmap.matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*\[([^\]]*)\]/g)) {
    const start = parseInt(m[1], 16);
    [...m[3].matchAll(/<([0-9a-fA-F ]+)>/g)].forEach((v, i) => map.set(start + i, hex(v[1])));
  }
  return map;
}

export function pdfPages(pdf: Buffer): PdfPage[] {
  const objs = objects(pdf);
  const dictOf = (id: number | null) => (id === null ? '' : objs.get(id)?.dict ?? '');
  const root = [...objs.values()].find((o) => /\/Type\s*\/Pages\b/.test(o.dict) && !/\/Parent/.test(o.dict));
  const kids = [...(/\/Kids\s*\[([^\]]*)\]/.exec(root?.dict ?? '')?.[1] ?? '').matchAll(/(\d+) 0 R/g)].map((m) => Number(m[1]));
  return kids.map((pageId) => {
    const page = dictOf(pageId);
    const resources = /\/Resources\s+\d+ 0 R/.test(page) ? dictOf(ref(page, 'Resources')) : page;
    const fontDict = /\/Font\s*<<([\s\S]*?)>>/.exec(resources)?.[1] ?? '';
    const fonts = new Map<string, Map<number, string>>();
    for (const m of fontDict.matchAll(/\/(\w+)\s+(\d+) 0 R/g)) {
      const cmapId = ref(dictOf(Number(m[2])), 'ToUnicode');
      fonts.set(m[1], cmapId === null ? new Map() : toUnicode(objs.get(cmapId)?.stream?.toString('latin1') ?? ''));
    }
    const content = objs.get(ref(page, 'Contents') ?? -1)?.stream?.toString('latin1') ?? '';
    const lines: string[] = [];
    const rects: PdfPage['rects'] = [];
    let font = new Map<number, string>();
    let line = '';
    const decode = (h: string) => (h.match(/.{4}/g) ?? []).map((g) => font.get(parseInt(g, 16)) ?? '\uFFFD').join('');
    const ops = /\/(\w+)\s+[\d.]+\s+Tf|\[((?:[^\]])*)\]\s*TJ|<([0-9a-fA-F]*)>\s*Tj|(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+re\b|\bET\b/g;
    for (let m; (m = ops.exec(content));) {
      if (m[1]) font = fonts.get(m[1]) ?? new Map();
      else if (m[2] !== undefined) line += [...m[2].matchAll(/<([0-9a-fA-F]*)>/g)].map((x) => decode(x[1])).join('');
      else if (m[3] !== undefined) line += decode(m[3]);
      else if (m[4] !== undefined) rects.push({ x: Number(m[4]), y: Number(m[5]), w: Number(m[6]), h: Number(m[7]) });
      else { if (line) lines.push(line); line = ''; }
    }
    return { lines, text: lines.join('\n'), rects };
  });
}

/** The dark-module matrix the rectangles of a page draw (all of them square-gridded on the smallest height). */
export function modulesOf(rects: PdfPage['rects']): boolean[][] {
  if (!rects.length) return [];
  const m = Math.min(...rects.map((r) => r.h));
  const x0 = Math.min(...rects.map((r) => r.x));
  const y0 = Math.min(...rects.map((r) => r.y));
  const n = Math.round((Math.max(...rects.map((r) => r.y + r.h)) - y0) / m);
  const grid = Array.from({ length: n }, () => Array<boolean>(n).fill(false));
  for (const r of rects) {
    const row = Math.round((r.y - y0) / m);
    for (let c = Math.round((r.x - x0) / m); c < Math.round((r.x + r.w - x0) / m); c++) grid[row][c] = true;
  }
  return grid;
}
