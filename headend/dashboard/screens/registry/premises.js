/**
 * A building's premises: number, kind, floor, entrance, area (м²), registered residents; new ones one
 * at a time or as a list of numbers ("1, 10–19" for a new building), and a change of one. The search
 * puts the premise whose number is exactly what was typed first and marks it, so flat 1 among
 * 10–19 (and 100) is never confused with them. GET/POST/PATCH /premises.
 */
import { html, useAction, useLoad, useQuery, useState } from '../../../web-shared/ui.js';
import { api } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { Card, DataTable, Loaded } from '../../ui/components.js';
import { BuildingFrame, useBuilding } from './common.js';
import { changes, fmtNum, FormNote, Input, localRefusal, num, refusal, SavedNote, str, useValues } from './form.js';

const FIELDS = ['number', 'kind', 'floor', 'entrance', 'area_m2', 'residents'];
const KINDS = ['residential', 'non_residential'];

/**
 * "1, 10–19, 5А" → ['1', '10', …, '19', '5А']: a range only between two whole numbers (a number like
 * "12-1" with a letter or a longer range is refused rather than guessed).
 */
export function expandNumbers(text) {
  const out = [];
  for (const part of text.split(/[,;\s]+/).map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)\s*[-–—]\s*(\d+)$/.exec(part);
    if (m) {
      const [a, b] = [Number(m[1]), Number(m[2])];
      if (b < a || b - a >= 500) return null;
      for (let n = a; n <= b; n++) out.push(String(n));
    } else out.push(part);
  }
  return out;
}

/** Exact number first (marked), then numbers starting with it, then containing it; nothing typed: all in number order. */
export function searchPremises(premises, text) {
  const q = text.trim().toLowerCase();
  const byNumber = (a, b) => a.number.localeCompare(b.number, 'ru', { numeric: true });
  if (!q) return premises.slice().sort(byNumber).map((p) => ({ ...p, exact: false }));
  const exact = premises.filter((p) => p.number.toLowerCase() === q);
  const starts = premises.filter((p) => p.number.toLowerCase() !== q && p.number.toLowerCase().startsWith(q)).sort(byNumber);
  const contains = premises.filter((p) => !p.number.toLowerCase().startsWith(q) && p.number.toLowerCase().includes(q)).sort(byNumber);
  return [...exact.map((p) => ({ ...p, exact: true })), ...[...starts, ...contains].map((p) => ({ ...p, exact: false }))];
}

const fromRow = (p) => ({ number: p.number ?? '', kind: p.kind ?? 'residential', floor: p.floor ?? '', entrance: p.entrance ?? '', area_m2: p.area_m2 ?? '', residents: p.residents ?? '' });

function PremiseForm({ buildingId, row, onSaved, onCancel }) {
  const [values, set] = useValues({ ...fromRow(row ?? {}), many: false });
  const [local, setLocal] = useState(null);
  const [progress, setProgress] = useState(null);
  const [save, state] = useAction(async (bodies) => {
    if (row) return [await api(`/premises/${row.id}`, { method: 'PATCH', body: changes(bodies[0], row) })];
    const made = [];
    for (const body of bodies) {
      setProgress({ done: made.length, total: bodies.length });
      made.push(await api('/premises', { method: 'POST', body: { building_id: buildingId, ...body } }));
    }
    return made;
  });
  const refused = local ?? refusal(state.error, FIELDS);
  async function submit(e) {
    e.preventDefault();
    const n = { floor: num(values.floor), area_m2: num(values.area_m2), residents: num(values.residents) };
    const numbers = values.many ? expandNumbers(values.number) : [str(values.number)].filter(Boolean);
    const bad = localRefusal({
      number: !numbers?.length ? t(values.many ? 'registry.p.badList' : 'registry.err.required') : null,
      ...Object.fromEntries(Object.entries(n).map(([k, v]) => [k, Number.isNaN(v) || (v !== undefined && k !== 'floor' && v < 0) ? t('registry.err.notNumber') : null])),
    });
    setLocal(bad);
    if (bad) return;
    const common = { kind: values.kind, entrance: str(values.entrance), ...n };
    const made = await save(numbers.map((number) => ({ number, ...common })));
    setProgress(null);
    if (made) onSaved(made);
  }
  const f = { values, set, refused };
  return html`<form class="registry-form" onSubmit=${submit} noValidate data-testid="premise-form">
    <${FormNote} refused=${refused} />
    ${progress && state.error ? html`<p class="note error" data-testid="premise-partial">${t('registry.p.partial', { done: progress.done, total: progress.total })}</p>` : null}
    ${row ? null : html`<${Input} ...${f} name="many" kind="check" label=${t('registry.p.many')} />`}
    <div class="form-grid">
      <${Input} ...${f} name="number" label=${values.many ? t('registry.p.numbers') : t('registry.p.number')} required
        hint=${values.many ? t('registry.p.numbersHint') : null} />
      <${Input} ...${f} name="kind" label=${t('registry.p.kind')} kind="select" options=${KINDS.map((k) => ({ value: k, label: tc('registry.kind', k) }))} />
      <${Input} ...${f} name="area_m2" label=${t('registry.p.area')} kind="number" />
      <${Input} ...${f} name="residents" label=${t('registry.p.residents')} kind="number" inputmode="numeric" />
      <${Input} ...${f} name="floor" label=${t('registry.p.floor')} kind="number" inputmode="numeric" />
      <${Input} ...${f} name="entrance" label=${t('registry.p.entrance')} />
    </div>
    <div class="actions">
      <button type="submit" class="primary" disabled=${state.busy} data-testid="premise-save">${t('registry.save')}</button>
      ${onCancel ? html`<button type="button" onClick=${onCancel}>${t('registry.cancel')}</button>` : null}
    </div>
  </form>`;
}

export function PremisesScreen({ params }) {
  const id = Number(params.id);
  const building = useBuilding(id);
  const list = useLoad(() => api(`/premises?building_id=${id}&limit=5000`), [id]);
  const [query, setQuery] = useQuery();
  const [editing, setEditing] = useState(null); // 'new' | a premise
  const [saved, setSaved] = useState(null);
  const q = query.q ?? '';
  const onSaved = (made) => { setEditing(null); setSaved(made.length === 1 ? t('registry.p.savedOne', { number: made[0].number }) : t('registry.p.savedMany', { count: made.length })); list.reload(); };
  const columns = [
    { key: 'number', label: t('registry.p.number'), render: (p) => html`<strong>${p.number}</strong>${p.exact ? html` <span class="badge exact" data-testid="premise-exact">${t('registry.p.exact')}</span>` : null}` },
    { key: 'kind', label: t('registry.p.kind'), render: (p) => tc('registry.kind', p.kind) },
    { key: 'area_m2', label: t('registry.p.area'), num: true, render: (p) => (p.area_m2 == null ? t('common.none') : `${fmtNum(p.area_m2, 2)} ${t('registry.unit.m2')}`) },
    { key: 'residents', label: t('registry.p.residents'), num: true },
    { key: 'floor', label: t('registry.p.floor'), num: true },
    { key: 'entrance', label: t('registry.p.entrance') },
    {
      key: 'actions', label: t('registry.actions'), render: (p) => html`<span class="actions">
        <button type="button" class="small" data-testid=${`premise-edit-${p.number}`} aria-label=${t('registry.p.editAria', { number: p.number })} onClick=${() => { setSaved(null); setEditing(p); }}>${t('registry.edit')}</button>
        <a href=${`#/registry/buildings/${id}/accounts?premise_id=${p.id}`}>${t('registry.tab.accounts')}</a>
        <a href=${`#/registry/buildings/${id}/meters?premise_id=${p.id}`}>${t('registry.tab.meters')}</a></span>`,
    },
  ];
  return html`<${BuildingFrame} id=${id} building=${building} tab="/premises" testid="registry-premises" title=${t('registry.tab.premises')}>${() => html`
    <${SavedNote} show=${!!saved} text=${saved} />
    ${editing ? html`<${Card} title=${editing === 'new' ? t('registry.p.new') : t('registry.p.editOne', { number: editing.number })} testid="premise-editor">
      <${PremiseForm} key=${editing === 'new' ? 'new' : editing.id} buildingId=${id} row=${editing === 'new' ? null : editing} onSaved=${onSaved} onCancel=${() => setEditing(null)} />
    <//>` : null}
    <${Card} actions=${html`<button type="button" class="primary" data-testid="premise-add" onClick=${() => { setSaved(null); setEditing('new'); }}>${t('registry.p.add')}</button>`}>
      <div class="filters"><label>${t('registry.p.search')}<input type="search" value=${q} data-testid="premise-search" inputmode="search"
        onInput=${(e) => setQuery({ q: e.currentTarget.value }, { replace: true })} /></label></div>
      <${Loaded} state=${list}>${(rows) => html`<div class="registry-stack">
        <${DataTable} columns=${columns} rows=${searchPremises(rows, q)} testid="premises-list" rowTestid=${(p) => `premise-row-${p.number}`}
          empty=${q ? t('registry.p.noMatch', { q }) : t('registry.p.none')} caption=${t('registry.tab.premises')} />
      </div>`}<//>
    <//>`}
  <//>`;
}
