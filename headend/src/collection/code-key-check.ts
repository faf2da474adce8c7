/**
 * At start-up: did SECRETS_KEY change under the residents' access codes?
 *
 * A keyed code's hash (access.ts) can be checked only with the key that made it; a head-end started
 * with another key (a new SECRETS_KEY, a lost DATA_DIR/secrets.key) answers every such code "wrong"
 * — the right answer for a stolen hash, but to staff and residents it looked like nothing at all. So
 * the fingerprint of the code key (an HMAC of a fixed label; never the key) is kept in a settings
 * row and with every keyed code, and each start compares:
 *   - the live codes (unused, unrevoked, unexpired) made under another key are counted; when there
 *     are any, a warning names how many and what to do (restore the key, or re-issue the codes), and
 *     one alert (kind access_code_key, no building: admins see it) is raised or refreshed;
 *   - when there are none (the key restored, the codes re-issued or expired), an open alert is cleared;
 *   - the settings row then holds this start's fingerprint.
 * Codes stored before fingerprints were are attributed to the key the head-end last started with
 * (the settings row; on the very first start, this key: nothing better is known).
 */
import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import { readSetting, writeSetting } from '../db/settings.js';
import { ACCESS_CODE_KEY_SUBJECT, accessCodeKeyMessage, clearAlert, joinMessage, raiseAlert, type ChannelTarget } from '../alerts/index.js';
import { attributeUnfingerprintedCodes, codeKeyFingerprint, liveCodesUnderOtherKeys, type CodeKey } from './access.js';

/** The settings row: the fingerprint of the code key the head-end last started with. */
export const CODE_KEY_SETTING = 'access_code_key_fingerprint';

export interface CodeKeyCheck {
  /** The key differs from the one of the last start (false on the first start: nothing to compare). */
  changed: boolean;
  /** Live codes made under another key (they no longer work), and their accounts. */
  codes: number;
  accounts: number;
  alert: 'raised' | 'refreshed' | 'cleared' | 'none';
  /** Notification rows of a raised or cleared alert: the caller enqueues their delivery. */
  notificationIds: number[];
}

export async function checkCodeKey(db: Db, key: CodeKey, o: { channels: readonly ChannelTarget[]; at: Date; logger: Pick<Logger, 'warn' | 'info'> }): Promise<CodeKeyCheck | null> {
  if (!key) return null;
  const fingerprint = codeKeyFingerprint(key);
  const { last, broken } = await db.tx(async (q) => {
    const before = await readSetting(q, CODE_KEY_SETTING);
    await attributeUnfingerprintedCodes(q, before ?? fingerprint);
    const counted = await liveCodesUnderOtherKeys(q, fingerprint, before ?? fingerprint);
    await writeSetting(q, CODE_KEY_SETTING, fingerprint);
    return { last: before, broken: counted };
  });
  const changed = last !== null && last !== fingerprint;
  const out: CodeKeyCheck = { changed, codes: broken.codes, accounts: broken.accounts, alert: 'none', notificationIds: [] };
  if (broken.codes > 0) {
    const m = accessCodeKeyMessage({ ...broken, changed });
    o.logger.warn({ codes: broken.codes, accounts: broken.accounts, keyChanged: changed }, m.en);
    const r = await raiseAlert(db, {
      kind: 'access_code_key', subject: ACCESS_CODE_KEY_SUBJECT, buildingId: null, severity: 'critical', message: joinMessage(m),
      data: { codes: broken.codes, accounts: broken.accounts, key_changed: changed },
    }, o.at, o.channels);
    out.alert = r.raised ? 'raised' : 'refreshed';
    out.notificationIds = r.notificationIds;
  } else {
    const r = await clearAlert(db, 'access_code_key', ACCESS_CODE_KEY_SUBJECT, o.at, 'no live access code is left under another key', o.channels);
    if (r) {
      o.logger.info('every live residents\' access code is hashed under the current SECRETS_KEY again: alert cleared');
      out.alert = 'cleared';
      out.notificationIds = r.notificationIds;
    }
  }
  return out;
}
