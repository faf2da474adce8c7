/**
 * Notification settings (migration 021): the building's row, else its organisation's, else the
 * defaults row. The webhook URL may carry credentials; everything shown or audited is redacted.
 */
import { z } from 'zod';
import type { Queryable } from '../db/types.js';
import { redactUrl } from '../util/redact-url.js';

export const NotificationSettings = z.object({
  enabled: z.boolean(),
  staff_digest: z.boolean(),
  resident_reminders: z.boolean(),
  verification_days_before: z.number().int().min(0).max(365),
  reminder_hour: z.number().int().min(0).max(23),
  digest_minutes: z.number().int().min(1).max(1440),
  webhook_url: z.url({ protocol: /^https?$/ }).nullable(),
});
export type NotificationSettings = z.infer<typeof NotificationSettings>;

export const NOTIFICATION_COLUMNS = 'enabled, staff_digest, resident_reminders, verification_days_before, reminder_hour, digest_minutes, webhook_url';

export const DEFAULT_NOTIFICATION_SETTINGS: NotificationSettings = {
  enabled: true, staff_digest: true, resident_reminders: false, verification_days_before: 30, reminder_hour: 10, digest_minutes: 5, webhook_url: null,
};

/** The effective settings of each building asked for (one query). */
export async function settingsOfBuildings(q: Queryable, buildingIds: number[]): Promise<Map<number, NotificationSettings>> {
  if (buildingIds.length === 0) return new Map();
  const { rows } = await q.query<NotificationSettings & { bid: number }>(
    `SELECT b.id::int AS bid, s.* FROM buildings b
       CROSS JOIN LATERAL (
         SELECT ${NOTIFICATION_COLUMNS} FROM notification_settings
          WHERE building_id = b.id OR (building_id IS NULL AND org_id = b.org_id) OR (building_id IS NULL AND org_id IS NULL)
          ORDER BY building_id IS NULL, org_id IS NULL LIMIT 1) s
      WHERE b.id = ANY($1::bigint[])`, [buildingIds]);
  const out = new Map<number, NotificationSettings>();
  for (const r of rows) {
    const { bid, ...s } = r;
    out.set(Number(bid), { ...DEFAULT_NOTIFICATION_SETTINGS, ...s });
  }
  return out;
}

export const redactWebhook = (url: string | null): string | null => (url === null ? null : redactUrl(url));
