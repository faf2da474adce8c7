/**
 * Times as the people of a building read them: in the building's zone (its `timezone`, default
 * Europe/Moscow), in the user's language, with the zone's offset when it is not the viewer's own, and
 * "3 h ago" beside them. Pure functions of their arguments plus the language (no fetch, no DOM).
 */
import { locale, t } from '../i18n.js';

export const DEFAULT_ZONE = 'Europe/Moscow';

/** "20.11.2026, 01:30 (UTC+5)" / "20/11/2026, 01:30 (GMT+5)": date and time in `zone`, with its offset. */
export function fmtZoned(iso, zone) {
  if (!iso) return t('common.none');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return t('common.none');
  const parts = new Intl.DateTimeFormat(locale(), {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    timeZone: zone || DEFAULT_ZONE, timeZoneName: 'shortOffset',
  }).formatToParts(d);
  const offset = parts.find((p) => p.type === 'timeZoneName')?.value;
  const text = parts.filter((p) => p.type !== 'timeZoneName').map((p) => p.value).join('').replace(/[\s,]+$/, '');
  return offset ? `${text} (${offset})` : text;
}

/** "3 ч назад" / "3 hours ago" between `iso` and `now` (the largest whole unit, minutes at least). */
export function fmtAgo(iso, now = new Date()) {
  if (!iso) return '';
  const secs = (new Date(iso).getTime() - now.getTime()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  const abs = Math.abs(secs);
  if (abs < 3600) return rtf.format(Math.round(secs / 60), 'minute');
  if (abs < 86_400 * 2) return rtf.format(Math.round(secs / 3600), 'hour');
  return rtf.format(Math.round(secs / 86_400), 'day');
}

/** "ноябрь 2026" / "November 2026" for a YYYY-MM month (standalone month name, no "г."). */
export function fmtMonthLong(period) {
  if (!period) return t('common.none');
  const [y, m] = period.split('-').map(Number);
  const d = new Date(Date.UTC(y, m - 1, 15));
  const month = new Intl.DateTimeFormat(locale(), { month: 'long', timeZone: 'UTC' }).format(d);
  return `${month} ${y}`;
}
