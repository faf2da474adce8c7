/**
 * The configuration of who enforces gateway credentials on an external broker: each missing or
 * conflicting key is refused with its name and what to set.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

function issues(env: Record<string, string>): { key: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => ({ key: i.key, message: i.message }));
    throw e;
  }
  return [];
}

const dynsec = { MQTT_URL: 'mqtt://mosquitto:1883', MQTT_BROKER_AUTH: 'mosquitto-dynsec' };

describe('MQTT_BROKER_AUTH', () => {
  it('is for an external broker only', () => {
    expect(issues({ MQTT_BROKER_AUTH: 'emqx-http', MQTT_HOOK_TOKEN: 'x'.repeat(24) }).map((i) => i.key)).toEqual(['MQTT_BROKER_AUTH']);
  });

  it('mosquitto-dynsec needs the admin and a head-end user of its own', () => {
    expect(issues(dynsec).map((i) => i.key).sort()).toEqual(['MQTT_ADMIN_PASSWORD', 'MQTT_ADMIN_USERNAME', 'MQTT_PASSWORD', 'MQTT_USERNAME']);
    const same = issues({ ...dynsec, MQTT_ADMIN_USERNAME: 'admin', MQTT_ADMIN_PASSWORD: 'a', MQTT_USERNAME: 'admin', MQTT_PASSWORD: 'b' });
    expect(same).toEqual([{ key: 'MQTT_USERNAME', message: expect.stringMatching(/must differ from MQTT_ADMIN_USERNAME/) }]);
    expect(issues({ ...dynsec, MQTT_ADMIN_USERNAME: 'admin', MQTT_ADMIN_PASSWORD: 'a', MQTT_USERNAME: 'amr-headend', MQTT_PASSWORD: 'b' })).toEqual([]);
  });

  it('emqx-http needs a hook token of at least 24 characters', () => {
    const emqx = { MQTT_URL: 'mqtt://emqx:1883', MQTT_BROKER_AUTH: 'emqx-http' };
    expect(issues(emqx).map((i) => i.key)).toEqual(['MQTT_HOOK_TOKEN']);
    expect(issues({ ...emqx, MQTT_HOOK_TOKEN: 'x'.repeat(23) }).map((i) => i.key)).toEqual(['MQTT_HOOK_TOKEN']);
    expect(issues({ ...emqx, MQTT_HOOK_TOKEN: 'x'.repeat(24) })).toEqual([]);
  });
});
