/**
 * Security headers of the head-end's pages (the engineers' dashboard and the residents' page): one set,
 * so neither page drifts. Nothing but the page's own files runs, no referrer leaves it (the residents'
 * invite link carries a one-time code in its query), it is never framed (clickjacking), and files are
 * taken for what their content type says.
 * The one inline script allowed is the UI libraries' import map, by its hash (web/vendor.ts).
 */
import { IMPORT_MAP_CSP_HASH } from '../web/vendor.js';

export const PAGE_HEADERS = {
  'cache-control': 'no-cache', // revalidate by ETag: a deploy shows at the next reload
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  // Browsers older than CSP's frame-ancestors honour only this one.
  'x-frame-options': 'DENY',
  // ECharts sets inline styles on its container; images are its canvas exports (data:).
  'content-security-policy': `default-src 'self'; script-src 'self' ${IMPORT_MAP_CSP_HASH}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'`,
} as const;

/** For the pages' other files (scripts, styles): revalidated, and never sniffed into another type. */
export const FILE_HEADERS = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' } as const;
