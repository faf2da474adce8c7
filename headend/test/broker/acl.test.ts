/**
 * The one topic rule every broker takes (acl.ts): a gateway's grant, MQTT matching against it, and the
 * same grant as Mosquitto dynamic-security ACLs and reconcile commands (dynsec-plan.ts). Expected
 * values are written out by hand from the contract's topic table (protocols/src/contract/topics.ts).
 */
import { describe, expect, it } from 'vitest';
import { filterWithin, gatewayGrant, gatewayMayPublish, gatewayMaySubscribe, headendGrant, topicMatches } from '../../src/broker/acl.js';
import { aclsOf, gatewayCommands, reconcilePlan, DEFAULT_ACL_ACCESS, GATEWAY_TEXTNAME } from '../../src/broker/dynsec-plan.js';

describe('topic grant of a gateway', () => {
  it('publishes its own readings, status, events and replies; nothing of another gateway, no command, no wildcard', () => {
    expect(gatewayGrant('gw-1')).toEqual({
      publish: ['amr/v1/gw-1/readings', 'amr/v1/gw-1/status', 'amr/v1/gw-1/events', 'amr/v1/gw-1/reply/+'],
      subscribe: ['amr/v1/gw-1/cmd/#'],
    });
    const yes = ['amr/v1/gw-1/readings', 'amr/v1/gw-1/status', 'amr/v1/gw-1/events', 'amr/v1/gw-1/reply/poll_now'];
    const no = ['amr/v1/gw-2/readings', 'amr/v1/gw-1/cmd/poll_now', 'amr/v1/gw-1/readings/x', 'amr/v1/gw-1/reply', 'amr/v1/gw-1/reply/a/b',
      'amr/v1/+/readings', 'amr/v1/gw-1/reply/#', 'amr/v1/gw-1-x/readings', ''];
    expect(yes.map((t) => gatewayMayPublish('gw-1', t))).toEqual([true, true, true, true]);
    expect(no.filter((t) => gatewayMayPublish('gw-1', t))).toEqual([]);
  });

  it('subscribes within its own command topics only', () => {
    const yes = ['amr/v1/gw-1/cmd/+', 'amr/v1/gw-1/cmd/#', 'amr/v1/gw-1/cmd/restart'];
    const no = ['amr/v1/gw-2/cmd/+', 'amr/v1/+/cmd/+', 'amr/v1/gw-1/#', 'amr/v1/gw-1/readings', '#', 'amr/v1/gw-1/+/restart'];
    expect(yes.map((f) => gatewayMaySubscribe('gw-1', f))).toEqual([true, true, true]);
    expect(no.filter((f) => gatewayMaySubscribe('gw-1', f))).toEqual([]);
  });

  it('matches as MQTT does: + one level, # the rest and the parent, never a $ topic by a leading wildcard', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/x/c')).toBe(false);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(filterWithin('a/+/c', 'a/+/c')).toBe(true);
    expect(filterWithin('a/+/c', 'a/#')).toBe(false);
    expect(filterWithin('a/#', 'a/+/c')).toBe(true);
  });

  it('the head-end takes every gateway\'s messages, also in its share group, and publishes commands', () => {
    expect(headendGrant('g1')).toEqual({
      publish: ['amr/v1/+/cmd/+'],
      subscribe: ['amr/v1/+/readings', 'amr/v1/+/status', 'amr/v1/+/events', 'amr/v1/+/reply/+',
        '$share/g1/amr/v1/+/readings', '$share/g1/amr/v1/+/status', '$share/g1/amr/v1/+/events', '$share/g1/amr/v1/+/reply/+'],
    });
  });
});

describe('the grant on Mosquitto (dynamic security)', () => {
  const role = { rolename: 'amr-gw-gw-1', acls: aclsOf(gatewayGrant('gw-1')) };

  it('a new gateway: its role with the grant\'s ACLs, its client pinned to amr-gw-<id>, with the password just issued', () => {
    expect(aclsOf(gatewayGrant('gw-1'))).toEqual([
      { acltype: 'publishClientSend', topic: 'amr/v1/gw-1/readings', allow: true, priority: 0 },
      { acltype: 'publishClientSend', topic: 'amr/v1/gw-1/status', allow: true, priority: 0 },
      { acltype: 'publishClientSend', topic: 'amr/v1/gw-1/events', allow: true, priority: 0 },
      { acltype: 'publishClientSend', topic: 'amr/v1/gw-1/reply/+', allow: true, priority: 0 },
      { acltype: 'subscribePattern', topic: 'amr/v1/gw-1/cmd/#', allow: true, priority: 0 },
    ]);
    expect(gatewayCommands({ id: 'gw-1', status: 'active' }, null, null, 'pw')).toEqual([
      { command: 'createRole', rolename: 'amr-gw-gw-1', acls: role.acls },
      { command: 'createClient', username: 'gw-1', clientid: 'amr-gw-gw-1', textname: GATEWAY_TEXTNAME, roles: [{ rolename: 'amr-gw-gw-1', priority: 0 }], password: 'pw' },
    ]);
  });

  it('an existing gateway: a rotation sets the password, a disabling disables, and nothing else changes', () => {
    const client = { username: 'gw-1', clientid: 'amr-gw-gw-1', textname: GATEWAY_TEXTNAME, roles: [{ rolename: 'amr-gw-gw-1' }] };
    expect(gatewayCommands({ id: 'gw-1', status: 'active' }, client, role, 'new')).toEqual([{ command: 'setClientPassword', username: 'gw-1', password: 'new' }]);
    expect(gatewayCommands({ id: 'gw-1', status: 'disabled' }, client, role)).toEqual([{ command: 'disableClient', username: 'gw-1' }]);
    expect(gatewayCommands({ id: 'gw-1', status: 'active' }, { ...client, disabled: true }, role)).toEqual([{ command: 'enableClient', username: 'gw-1' }]);
    expect(gatewayCommands({ id: 'gw-1', status: 'active' }, client, role)).toEqual([]);
  });

  it('reconciling: an ACL edited by hand is put back, a removed gateway\'s client and role go, the operator\'s clients stay', () => {
    const edited = { rolename: 'amr-gw-gw-1', acls: [...role.acls.slice(1), { acltype: 'publishClientSend', topic: '#', allow: true, priority: 0 }] };
    const plan = reconcilePlan([{ id: 'gw-1', status: 'active' }], {
      clients: [
        { username: 'gw-1', clientid: 'amr-gw-gw-1', textname: GATEWAY_TEXTNAME, roles: [{ rolename: 'amr-gw-gw-1' }] },
        { username: 'gw-old', textname: GATEWAY_TEXTNAME, roles: [{ rolename: 'amr-gw-gw-old' }] },
        { username: 'admin', roles: [{ rolename: 'admin' }] },
      ],
      roles: [edited, { rolename: 'amr-gw-gw-old', acls: [] }],
      defaultACLAccess: DEFAULT_ACL_ACCESS,
    });
    expect(plan).toEqual({
      commands: [
        { command: 'removeRoleACL', rolename: 'amr-gw-gw-1', acltype: 'publishClientSend', topic: '#' },
        { command: 'addRoleACL', rolename: 'amr-gw-gw-1', acltype: 'publishClientSend', topic: 'amr/v1/gw-1/readings', allow: true, priority: 0 },
        { command: 'deleteClient', username: 'gw-old' },
        { command: 'deleteRole', rolename: 'amr-gw-gw-old' },
      ],
      withoutPassword: [],
      removed: ['gw-old'],
    });
  });
});
