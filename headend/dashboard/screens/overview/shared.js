/** What the overview's three screens share: the resources they compare and how a verdict's reasons read. */
import { t, tc } from '../../i18n.js';

export const RESOURCES = ['heat', 'hot_water', 'cold_water', 'electricity'];

/** Translated reasons of a verdict, comma-separated ("—" when none). */
export function reasonsText(reasons) {
  return reasons?.length ? reasons.map((r) => tc('reason', r.code)).join(', ') : t('common.none');
}

/** Roles whose users enter readings by hand (readings:enter). */
export const ENTRY_ROLES = new Set(['admin', 'engineer', 'operator']);
/** Roles that may recompute imbalance reports (imbalance:recompute). */
export const RECOMPUTE_ROLES = new Set(['admin', 'engineer']);
