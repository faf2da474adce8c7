/**
 * Gateways: the list (id, name, building, online, last seen, software, outbox depth), a new gateway
 * whose MQTT password is shown once (only the API's answer to the create or to a rotation carries it;
 * it lives in this screen's memory and is gone on reload), and one gateway's page: its card and its
 * bindings (bus + address → meter), bind and unbind. Commands to a gateway are their own screen: a
 * link slot. GET/POST/PATCH /gateways, POST /gateways/:id/credentials, GET/POST /gateways/:id/bindings,
 * DELETE /bindings/:id.
 */
import { html, useAction, useLoad, useQuery, useState } from '../../../web-shared/ui.js';
import { api } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { Card, DataTable, Loaded, Page } from '../../ui/components.js';
import { DEFAULT_TZ } from './common.js';
import { fmtInstant, FormNote, Input, localRefusal, refusal, SavedNote, str, useValues } from './form.js';

const GATEWAY_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The password, once: a box to copy it from, and why it will not be shown again. */
function OneTimePassword({ mqtt }) {
  return html`<div class="note ok one-time" role="status" data-testid="gateway-password-box">
    <strong>${t('registry.g.passwordOnce')}</strong>
    <dl class="facts"><dt>${t('registry.g.username')}</dt><dd><code>${mqtt.username}</code></dd>
      <dt>${t('registry.g.password')}</dt><dd><code data-testid="gateway-password">${mqtt.password}</code></dd></dl>
    <p>${t('registry.g.passwordHint')}</p>
  </div>`;
}

function Online({ gw }) {
  return html`<span class=${`badge ${gw.online ? 'status-ok' : 'status-high_loss'}`} data-testid=${`gw-online-${gw.id}`}>${gw.online ? t('gateway.online') : t('gateway.offline')}</span>`;
}

function GatewayForm({ buildings, buildingId, onCreated, onCancel }) {
  const [values, set] = useValues({ id: '', name: '', building_id: buildingId ? String(buildingId) : (buildings.length === 1 ? String(buildings[0].id) : '') });
  const [local, setLocal] = useState(null);
  const [create, state] = useAction((body) => api('/gateways', { method: 'POST', body }));
  const refused = local ?? refusal(state.error, ['id', 'name', 'building_id']);
  async function submit(e) {
    e.preventDefault();
    const bad = localRefusal({
      id: !GATEWAY_ID.test(values.id.trim()) ? t('registry.g.idRule') : null,
      building_id: !values.building_id ? t('registry.err.required') : null,
    });
    setLocal(bad);
    if (bad) return;
    const out = await create({ id: values.id.trim(), name: str(values.name), building_id: Number(values.building_id) });
    if (out) onCreated(out);
  }
  const f = { values, set, refused };
  return html`<form class="registry-form" onSubmit=${submit} noValidate data-testid="gateway-form">
    <${FormNote} refused=${refused} />
    <div class="form-grid">
      <${Input} ...${f} name="id" label=${t('registry.g.id')} required hint=${t('registry.g.idRule')} />
      <${Input} ...${f} name="name" label=${t('registry.g.name')} />
      <${Input} ...${f} name="building_id" label=${t('registry.g.building')} kind="select" required
        options=${[{ value: '', label: t('registry.choose') }, ...buildings.map((b) => ({ value: String(b.id), label: b.address }))]} />
    </div>
    <div class="actions"><button type="submit" class="primary" disabled=${state.busy} data-testid="gateway-save">${t('registry.g.create')}</button>
      <button type="button" onClick=${onCancel}>${t('registry.cancel')}</button></div>
  </form>`;
}

export function GatewaysScreen() {
  const [query, setQuery] = useQuery();
  const buildingId = query.building_id ? Number(query.building_id) : null;
  const data = useLoad(async () => {
    const [gateways, buildings] = await Promise.all([api(`/gateways${buildingId ? `?building_id=${buildingId}` : ''}`), api('/buildings?limit=5000')]);
    return { gateways, buildings };
  }, [buildingId]);
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState(null);
  return html`<${Page} title=${t('registry.g.title')} testid="registry-gateways"
      actions=${html`<button type="button" class="primary" data-testid="gateway-add" aria-expanded=${adding} onClick=${() => { setCreated(null); setAdding(!adding); }}>${t('registry.g.add')}</button>`}>
    <nav class="registry-tabs" aria-label=${t('registry.tabs')}>
      <a href="#/registry">${t('registry.allBuildings')}</a>
      ${buildingId ? html`<a href=${`#/registry/buildings/${buildingId}`}>${t('registry.tab.building')}</a>` : null}
    </nav>
    <${Loaded} state=${data}>${(d) => {
      const byId = new Map(d.buildings.map((b) => [b.id, b]));
      const tz = (gw) => byId.get(gw.building_id)?.timezone ?? DEFAULT_TZ;
      const columns = [
        { key: 'id', label: t('registry.g.id'), render: (g) => html`<a href=${`#/registry/gateways/${encodeURIComponent(g.id)}`} data-testid=${`gw-link-${g.id}`}>${g.id}</a>` },
        { key: 'name', label: t('registry.g.name') },
        { key: 'building', label: t('registry.g.building'), render: (g) => byId.get(g.building_id)?.address ?? t('common.none') },
        { key: 'online', label: t('registry.g.state'), render: (g) => html`<${Online} gw=${g} />${g.status === 'disabled' ? html` <span class="badge">${t('registry.g.disabled')}</span>` : null}` },
        { key: 'last_seen_at', label: t('gateway.lastSeen'), render: (g) => fmtInstant(g.last_seen_at, tz(g)) },
        { key: 'software', label: t('registry.g.software'), render: (g) => g.last_status?.software ?? t('common.none') },
        { key: 'outbox', label: t('gateway.outbox'), num: true, render: (g) => g.last_status?.outboxDepth ?? t('common.none') },
        { key: 'quarantine', label: t('registry.g.quarantine'), num: true, render: (g) => g.open_quarantine ?? 0 },
      ];
      return html`
        ${created ? html`<${OneTimePassword} mqtt=${created.mqtt} />` : null}
        ${adding ? html`<${Card} title=${t('registry.g.new')} testid="gateway-new">
          <${GatewayForm} buildings=${d.buildings} buildingId=${buildingId} onCancel=${() => setAdding(false)} onCreated=${(out) => { setAdding(false); setCreated(out); data.reload(); }} />
        <//>` : null}
        <${Card}>
          <div class="filters"><label>${t('registry.g.building')}
            <select value=${buildingId ? String(buildingId) : ''} data-testid="gateway-building-filter" onChange=${(e) => setQuery({ building_id: e.currentTarget.value })}>
              <option value="">${t('common.all')}</option>
              ${d.buildings.map((b) => html`<option value=${String(b.id)}>${b.address}</option>`)}
            </select></label></div>
          <div class="registry-stack"><${DataTable} columns=${columns} rows=${d.gateways} testid="gateways-list" rowTestid=${(g) => `gw-row-${g.id}`}
            empty=${t('registry.g.none')} caption=${t('registry.g.title')} /></div>
        <//>`;
    }}<//>
  <//>`;
}

function BindForm({ gatewayId, meters, onBound }) {
  const [values, set] = useValues({ bus: '', address: '', meter_id: '' });
  const [local, setLocal] = useState(null);
  const [bind, state] = useAction((body) => api(`/gateways/${encodeURIComponent(gatewayId)}/bindings`, { method: 'POST', body }));
  const refused = local ?? refusal(state.error, ['bus', 'address', 'meter_id']);
  async function submit(e) {
    e.preventDefault();
    const bad = localRefusal({
      bus: !str(values.bus) ? t('registry.err.required') : null,
      address: !str(values.address) ? t('registry.err.required') : null,
      meter_id: !values.meter_id ? t('registry.err.required') : null,
    });
    setLocal(bad);
    if (bad) return;
    if (await bind({ bus: str(values.bus), address: str(values.address), meter_id: Number(values.meter_id) })) onBound();
  }
  const f = { values, set, refused };
  return html`<form class="registry-form" onSubmit=${submit} noValidate data-testid="bind-form">
    <${FormNote} refused=${refused} />
    <div class="form-grid">
      <${Input} ...${f} name="bus" label=${t('registry.g.bus')} required hint=${t('registry.g.busHint')} />
      <${Input} ...${f} name="address" label=${t('registry.g.address')} required hint=${t('registry.g.addressHint')} />
      <${Input} ...${f} name="meter_id" label=${t('registry.g.meter')} kind="select" required
        options=${[{ value: '', label: t('registry.choose') }, ...meters.map((m) => ({ value: String(m.id), label: `${m.serial_number} · ${tc('resource', m.resource)}` }))]} />
    </div>
    <div class="actions"><button type="submit" class="primary" disabled=${state.busy} data-testid="bind-save">${t('registry.g.bind')}</button></div>
  </form>`;
}

/** Rename, move to another building of the same organisation, or disable (the broker then refuses it). */
function GatewayEdit({ gw, buildings, onSaved }) {
  const [values, set] = useValues({ name: gw.name ?? '', building_id: gw.building_id ? String(gw.building_id) : '', status: gw.status });
  const [save, state] = useAction((body) => api(`/gateways/${encodeURIComponent(gw.id)}`, { method: 'PATCH', body }));
  const refused = refusal(state.error, ['name', 'building_id', 'status']);
  async function submit(e) {
    e.preventDefault();
    const body = {};
    if ((str(values.name) ?? null) !== (gw.name ?? null)) body.name = str(values.name) ?? null;
    if (values.building_id && Number(values.building_id) !== gw.building_id) body.building_id = Number(values.building_id);
    if (values.status !== gw.status) body.status = values.status;
    if (await save(body)) onSaved();
  }
  const f = { values, set, refused };
  return html`<form class="registry-form" onSubmit=${submit} noValidate data-testid="gateway-edit">
    <${FormNote} refused=${refused} />
    <div class="form-grid">
      <${Input} ...${f} name="name" label=${t('registry.g.name')} />
      <${Input} ...${f} name="building_id" label=${t('registry.g.building')} kind="select"
        options=${[...(values.building_id ? [] : [{ value: '', label: t('registry.choose') }]), ...buildings.map((b) => ({ value: String(b.id), label: b.address }))]} />
      <${Input} ...${f} name="status" label=${t('registry.g.status')} kind="select"
        options=${[{ value: 'active', label: t('registry.g.active') }, { value: 'disabled', label: t('registry.g.disabled') }]} />
    </div>
    <div class="actions"><button type="submit" class="primary" disabled=${state.busy} data-testid="gateway-edit-save">${t('registry.save')}</button></div>
  </form>`;
}

export function GatewayScreen({ params }) {
  const id = decodeURIComponent(params.id);
  const data = useLoad(async () => {
    const gw = await api(`/gateways/${encodeURIComponent(id)}`);
    const [bindings, buildings, meters] = await Promise.all([
      api(`/gateways/${encodeURIComponent(id)}/bindings`),
      api('/buildings?limit=5000'),
      gw.building_id ? api(`/meters?building_id=${gw.building_id}&status=active&limit=5000`) : [],
    ]);
    return { gw, bindings, buildings, building: buildings.find((b) => b.id === gw.building_id) ?? null, meters };
  }, [id]);
  const [rotated, setRotated] = useState(null);
  const [saved, setSaved] = useState(null);
  const [rotate, rotateState] = useAction(() => api(`/gateways/${encodeURIComponent(id)}/credentials`, { method: 'POST' }));
  const [unbind, unbindState] = useAction((bindingId) => api(`/bindings/${bindingId}`, { method: 'DELETE' }));
  if (data.error) {
    return html`<${Page} title=${t('registry.g.title')} testid="registry-refused">
      <section class="card notice" role="alert" data-testid="registry-not-found"><p>${refusal(data.error).summary}</p><a href="#/registry/gateways">${t('registry.g.toList')}</a></section>
    <//>`;
  }
  return html`<${Loaded} state=${data}>${(d) => {
    const tz = d.building?.timezone ?? DEFAULT_TZ;
    const serial = new Map(d.meters.map((m) => [m.id, m.serial_number]));
    const columns = [
      { key: 'bus', label: t('registry.g.bus') },
      { key: 'address', label: t('registry.g.address') },
      { key: 'meter', label: t('registry.g.meter'), render: (x) => html`<a href=${`#/registry/meters/${x.meter_id}`}>${serial.get(x.meter_id) ?? x.meter_id}</a>` },
      { key: 'valid_from', label: t('registry.g.since'), render: (x) => (x.valid_from ? fmtInstant(x.valid_from, tz) : t('registry.g.sinceEver')) },
      {
        key: 'actions', label: t('registry.actions'), render: (x) => html`<button type="button" class="small" data-testid=${`unbind-${x.bus}-${x.address}`} disabled=${unbindState.busy}
          onClick=${async () => { if (window.confirm(t('registry.g.unbindConfirm'))) { if (await unbind(x.id)) { setSaved(t('registry.g.unbound')); data.reload(); } } }}>${t('registry.g.unbind')}</button>`,
      },
    ];
    return html`<${Page} title=${t('registry.g.one', { id: d.gw.id })} testid="registry-gateway">
      <nav class="registry-tabs" aria-label=${t('registry.tabs')}>
        <a href="#/registry/gateways" data-testid="back-to-gateways">${t('registry.g.toList')}</a>
        ${d.building ? html`<a href=${`#/registry/buildings/${d.building.id}`}>${d.building.address}</a>` : null}
        <a href=${`#/gateways/${encodeURIComponent(d.gw.id)}/commands`} data-testid="gateway-commands-link">${t('registry.g.commands')}</a>
      </nav>
      <${SavedNote} show=${!!saved} text=${saved} />
      ${rotated ? html`<${OneTimePassword} mqtt=${rotated} />` : null}
      <div class="grid2">
        <${Card} title=${t('registry.g.card')}>
          <dl class="facts" data-testid="gateway-facts">
            <dt>${t('registry.g.name')}</dt><dd>${d.gw.name ?? t('common.none')}</dd>
            <dt>${t('registry.g.state')}</dt><dd><${Online} gw=${d.gw} /></dd>
            <dt>${t('gateway.lastSeen')}</dt><dd>${fmtInstant(d.gw.last_seen_at, tz)}</dd>
            <dt>${t('registry.g.software')}</dt><dd>${d.gw.last_status?.software ?? t('common.none')}</dd>
            <dt>${t('gateway.outbox')}</dt><dd>${d.gw.last_status?.outboxDepth ?? t('common.none')}</dd>
          </dl>
          <${GatewayEdit} key=${d.gw.updated_at} gw=${d.gw} buildings=${d.buildings} onSaved=${() => { setSaved(t('registry.saved')); data.reload(); }} />
          <${FormNote} refused=${refusal(rotateState.error)} testid="rotate-error" />
          <button type="button" data-testid="gateway-rotate" disabled=${rotateState.busy}
            onClick=${async () => { if (window.confirm(t('registry.g.rotateConfirm'))) { const r = await rotate(); if (r) setRotated(r); } }}>${t('registry.g.rotate')}</button>
        <//>
        <${Card} title=${t('registry.g.bindings')} testid="bindings">
          <${FormNote} refused=${refusal(unbindState.error)} testid="unbind-error" />
          <div class="registry-stack"><${DataTable} columns=${columns} rows=${d.bindings} testid="bindings-list" rowTestid=${(x) => `binding-${x.bus}-${x.address}`}
            empty=${t('registry.g.noBindings')} caption=${t('registry.g.bindings')} /></div>
          <h3>${t('registry.g.bindNew')}</h3>
          ${d.building ? html`<${BindForm} key=${d.bindings.length} gatewayId=${d.gw.id} meters=${d.meters} onBound=${() => { setSaved(t('registry.g.bound')); data.reload(); }} />`
            : html`<p class="muted">${t('registry.g.noBuilding')}</p>`}
        <//>
      </div>
    <//>`;
  }}<//>`;
}

