/**
 * The fonts of the head-end's printed documents (invite letters, invoices): pdfkit's built-in fonts
 * have no Cyrillic, so DejaVu from the dejavu-fonts-ttf package, resolved through node_modules. A
 * missing package fails with the command that installs it.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import type PDFDocument from 'pdfkit';

const require = createRequire(import.meta.url);

export function pdfFonts(): { regular: string; bold: string; mono: string } {
  const file = (name: string) => {
    let path: string;
    try {
      path = require.resolve(`dejavu-fonts-ttf/ttf/${name}`);
    } catch {
      throw new Error(`font ${name} not found: printed documents need the npm package dejavu-fonts-ttf (npm install -w headend dejavu-fonts-ttf)`);
    }
    if (!existsSync(path)) throw new Error(`font file ${path} is missing: reinstall the npm package dejavu-fonts-ttf`);
    return path;
  };
  return { regular: file('DejaVuSans.ttf'), bold: file('DejaVuSans-Bold.ttf'), mono: file('DejaVuSansMono-Bold.ttf') };
}

/** Registers the fonts as 'regular', 'bold', 'mono' and collects the document into one Buffer at end(). */
export function collectPdf(doc: InstanceType<typeof PDFDocument>): Promise<Buffer> {
  const fonts = pdfFonts();
  doc.registerFont('regular', fonts.regular);
  doc.registerFont('bold', fonts.bold);
  doc.registerFont('mono', fonts.mono);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  return new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}
