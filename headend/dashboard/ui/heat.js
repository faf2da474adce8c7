/**
 * A heat meter's НС (abnormal situations) in the user's language, for the meter page's archive and the
 * heat statement: the reason codes the API judges (src/heat/ns.ts: ns_flow_low, …, each with the
 * meter's own code or the seconds it lasted) as words, and a record's interval in the building's local
 * time as the API gives it ('YYYY-MM-DDTHH:MM', already in the building's zone). Pure functions.
 */
import { t, tc } from '../i18n.js';
import { fmtDay, fmtNumber } from '../format.js';
import { unitLabel } from './units.js';

/** Seconds as hours with the unit: "6 ч" / "6 h", "0,33 ч". */
export const fmtHours = (seconds) => `${fmtNumber(seconds / 3600, 2)} ${unitLabel('h')}`;

/** One reason: «отключение питания тепловычислителя: 6 ч»; an unknown meter code named in brackets. */
export function nsReasonText(r) {
  const words = tc('ns', r.code);
  const code = r.code === 'ns_unknown' && r.meter_code ? ` (${r.meter_code})` : '';
  return `${words}${code}${r.seconds ? `: ${fmtHours(r.seconds)}` : ''}`;
}

/** A record's reasons in one line, each said once. */
export const nsText = (reasons) => [...new Set((reasons ?? []).map(nsReasonText))].join('; ');

/** "08.02.2026 00:00" from the API's local 'YYYY-MM-DDTHH:MM'. */
export const fmtLocal = (local) => (local ? `${fmtDay(local.slice(0, 10))} ${local.slice(11, 16)}` : t('common.none'));

/** "08.02.2026 00:00 — 09.02.2026 00:00". */
export const fmtInterval = (from, to) => `${fmtLocal(from)} — ${fmtLocal(to)}`;
