/**
 * Пороги небаланса / Imbalance thresholds: per resource, the loss above which a month is flagged, the
 * negative imbalance that points to a metering error, and the share of apartment meters that must have
 * readings for a month to be judged at all. The default row (no building) governs every building; a
 * building's own row wins over it. Saving re-judges the stored reports (the answer says how many).
 */
import { html, useLoad, useState } from '../../../web-shared/ui.js';
import { api } from '../../api.js';
import { locale, t, tc } from '../../i18n.js';
import { Card, DataTable, ErrorNote, Field, Loaded, Page } from '../../ui/components.js';

const ROLES = ['admin', 'engineer'];
const RESOURCES = ['heat', 'hot_water', 'cold_water', 'electricity', 'gas'];
const pct = (v) => `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(v)} %`;

function ThresholdForm({ buildings, onSaved }) {
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(null);
  async function submit(e) {
    e.preventDefault();
    const f = new window.FormData(e.currentTarget);
    setError(null); setSaved(null);
    try {
      const building = f.get('building');
      const r = await api('/imbalance-thresholds', { method: 'PUT', body: {
        building_id: building ? Number(building) : null, resource: f.get('resource'),
        high_loss_pct: Number(f.get('high_loss_pct')), negative_pct: Number(f.get('negative_pct')), min_coverage: Number(f.get('min_coverage_pct')) / 100,
      } });
      setSaved(r.rejudged);
      onSaved();
    } catch (ex) { setError(ex); }
  }
  return html`<form class="form-grid" data-testid="threshold-form" onSubmit=${submit}>
    <${Field} label=${t('thresholds.building')}>
      <select name="building" data-testid="threshold-building">
        <option value="">${t('thresholds.default')}</option>
        ${buildings.map((b) => html`<option value=${b.id}>${b.address}</option>`)}
      </select>
    <//>
    <${Field} label=${t('common.resource')}>
      <select name="resource" data-testid="threshold-resource">${RESOURCES.map((r) => html`<option value=${r}>${tc('resource', r)}</option>`)}</select>
    <//>
    <${Field} label=${t('thresholds.highLoss')} hint=${t('thresholds.highLossHint')}>
      <input name="high_loss_pct" type="number" inputmode="decimal" min="0" max="100" step="0.1" required value="10" data-testid="threshold-high" />
    <//>
    <${Field} label=${t('thresholds.negative')} hint=${t('thresholds.negativeHint')}>
      <input name="negative_pct" type="number" inputmode="decimal" min="0" max="100" step="0.1" required value="2" data-testid="threshold-negative" />
    <//>
    <${Field} label=${t('thresholds.coverage')} hint=${t('thresholds.coverageHint')}>
      <input name="min_coverage_pct" type="number" inputmode="numeric" min="0" max="100" step="1" required value="80" data-testid="threshold-coverage" />
    <//>
    <div class="actions"><button type="submit" class="primary" data-testid="threshold-save">${t('thresholds.save')}</button></div>
    ${saved != null ? html`<p class="note ok" role="status" data-testid="threshold-saved">${t('thresholds.saved', { count: saved })}</p>` : null}
    <${ErrorNote} error=${error} />
  </form>`;
}

function ThresholdsScreen() {
  const [gen, setGen] = useState(0);
  const rows = useLoad(() => api('/imbalance-thresholds'), [gen]);
  const buildings = useLoad(() => api('/buildings?limit=5000'), []);
  const address = (id) => (id == null ? t('thresholds.default') : (buildings.data ?? []).find((b) => b.id === id)?.address ?? t('common.none'));
  return html`<${Page} title=${t('thresholds.title')} testid="thresholds-page">
    <${Card} title=${t('thresholds.current')}>
      <${Loaded} state=${rows}>${(list) => html`<${DataTable} testid="thresholds-table" caption=${t('thresholds.current')} rows=${list}
        rowTestid=${(r) => `threshold-${r.building_id ?? 'default'}-${r.resource}`} columns=${[
          { key: 'building_id', label: t('thresholds.building'), render: (r) => address(r.building_id) },
          { key: 'resource', label: t('common.resource'), render: (r) => tc('resource', r.resource) },
          { key: 'high_loss_pct', label: t('thresholds.highLoss'), num: true, render: (r) => pct(r.high_loss_pct) },
          { key: 'negative_pct', label: t('thresholds.negative'), num: true, render: (r) => pct(r.negative_pct) },
          { key: 'min_coverage', label: t('thresholds.coverage'), num: true, render: (r) => pct(r.min_coverage * 100) },
          { key: 'updated_by', label: t('thresholds.updatedBy'), render: (r) => r.updated_by ?? t('common.none') },
        ]} />`}<//>
    <//>
    <${Card} title=${t('thresholds.set')}>
      <${ThresholdForm} buildings=${buildings.data ?? []} onSaved=${() => setGen((g) => g + 1)} />
    <//>
  <//>`;
}

const ru = {
  'nav.thresholds': 'Пороги небаланса',
  'thresholds.title': 'Пороги небаланса',
  'thresholds.current': 'Действующие пороги',
  'thresholds.set': 'Задать порог',
  'thresholds.building': 'Дом',
  'thresholds.default': 'По умолчанию (все дома)',
  'thresholds.highLoss': 'Большие потери, %',
  'thresholds.highLossHint': 'Небаланс выше этого — тревога «большие потери»',
  'thresholds.negative': 'Отрицательный небаланс, %',
  'thresholds.negativeHint': 'Σ ИПУ больше ОДПУ на столько — вероятна ошибка учёта',
  'thresholds.coverage': 'Охват ИПУ, не менее %',
  'thresholds.coverageHint': 'Доля квартирных приборов с показаниями, без которой месяц не оценивается',
  'thresholds.updatedBy': 'Изменил(а)',
  'thresholds.save': 'Сохранить',
  'thresholds.saved_one': 'Сохранено. Пересмотрен {count} отчёт.',
  'thresholds.saved_few': 'Сохранено. Пересмотрено {count} отчёта.',
  'thresholds.saved_many': 'Сохранено. Пересмотрено {count} отчётов.',
  'thresholds.saved_other': 'Сохранено. Пересмотрено отчётов: {count}.',
};
const en = {
  'nav.thresholds': 'Imbalance thresholds',
  'thresholds.title': 'Imbalance thresholds',
  'thresholds.current': 'Thresholds in force',
  'thresholds.set': 'Set a threshold',
  'thresholds.building': 'Building',
  'thresholds.default': 'Default (every building)',
  'thresholds.highLoss': 'High loss, %',
  'thresholds.highLossHint': 'An imbalance above this raises a "high loss" alert',
  'thresholds.negative': 'Negative imbalance, %',
  'thresholds.negativeHint': 'Σ apartment meters above the building meter by this much: likely a metering error',
  'thresholds.coverage': 'Apartment meter coverage, at least %',
  'thresholds.coverageHint': 'The share of apartment meters with readings below which a month is not judged',
  'thresholds.updatedBy': 'Changed by',
  'thresholds.save': 'Save',
  'thresholds.saved_one': 'Saved. {count} report re-judged.',
  'thresholds.saved_other': 'Saved. {count} reports re-judged.',
};

export const thresholdsScreen = {
  id: 'thresholds',
  messages: { ru, en },
  routes: [{ path: '/thresholds', component: ThresholdsScreen, roles: ROLES }],
  nav: [{ href: '/thresholds', key: 'nav.thresholds', roles: ROLES }],
};
