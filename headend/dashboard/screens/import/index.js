/**
 * Загрузка файлов / File import: an office's Excel or CSV of readings (a management company's monthly
 * sheet) or of the registry (buildings, premises, accounts, meters at onboarding). Two steps, as the
 * API intends: "check" runs the import with dry_run and shows what would change and every refused row
 * (sheet, row, column, why); "import" stores it, all or nothing. The file is checked again on import:
 * what was shown is what the server judged, not a promise.
 */
import { html, useLoad, useState } from '../../../web-shared/ui.js';
import { api, qs, upload } from '../../api.js';
import { t } from '../../i18n.js';
import { Card, DataTable, ErrorNote, Field, Loaded, Page } from '../../ui/components.js';

const ROLES = ['admin', 'engineer'];
const KINDS = ['readings', 'registry'];
const REGISTRY_KINDS = ['', 'buildings', 'premises', 'accounts', 'meters'];

/** The request that sends the file: the route by what it holds, the options in the query. */
function requestFor({ kind, orgId, registryKind, dryRun, confirm, fileName }) {
  const path = kind === 'readings'
    ? `/import/readings?${qs({ org_id: orgId, dry_run: String(dryRun), confirm: String(confirm), file_name: fileName })}`
    : `/import/registry?${qs({ org_id: orgId, dry_run: String(dryRun), kind: registryKind })}`;
  return { method: 'POST', path };
}

function Report({ report }) {
  const summary = Object.entries(report.summary ?? {});
  const counts = summary.length && typeof summary[0][1] === 'object'
    ? summary.map(([k, v]) => t('import.countsKind', { kind: t(`import.kind.${k}`), create: v.create, update: v.update, unchanged: v.unchanged })).join('; ')
    : t('import.countsReadings', { insert: report.summary?.insert ?? 0, unchanged: report.summary?.unchanged ?? 0 });
  const state = report.applied ? 'applied' : report.ok ? 'checked' : 'refused';
  return html`<div data-testid="import-report" data-state=${state}>
    <p class=${`note ${report.ok ? 'ok' : 'error'}`} role="status" data-testid="import-status">${t(`import.state.${state}`)} ${counts}</p>
    ${report.errors?.length ? html`<${DataTable} testid="import-errors" caption=${t('import.errors')} rows=${report.errors} rowKey=${(e) => `${e.sheet}-${e.row}-${e.column}`}
      columns=${[
        { key: 'sheet', label: t('import.sheet') },
        { key: 'row', label: t('import.row'), num: true },
        { key: 'column', label: t('import.column') },
        { key: 'message', label: t('import.problem') },
      ]} />` : null}
  </div>`;
}

function ImportScreen() {
  const orgs = useLoad(() => api('/organisations'), []);
  const [form, setForm] = useState({ kind: 'readings', orgId: '', registryKind: '', confirm: false });
  const [file, setFile] = useState(null);
  const [checked, setChecked] = useState(null); // the dry run's report for exactly this file and these options
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const orgId = form.orgId || orgs.data?.[0]?.id || '';
  const set = (patch) => { setForm({ ...form, ...patch }); setChecked(null); setReport(null); };

  async function send(dryRun) {
    if (busy || !file || !orgId) return;
    setBusy(true); setError(null);
    try {
      const { method, path } = requestFor({ ...form, orgId, dryRun, fileName: file.name });
      const r = await upload(path, file, { method });
      setReport(r.body);
      setChecked(dryRun && r.body?.ok ? r.body : null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return html`<${Page} title=${t('import.title')} testid="import-page">
    <${Card} title=${t('import.file')}>
      <p class="muted">${t(`import.help.${form.kind}`)}</p>
      <div class="form-grid">
        <${Field} label=${t('import.kindLabel')}>
          <select data-testid="import-kind" value=${form.kind} onChange=${(e) => set({ kind: e.currentTarget.value })}>
            ${KINDS.map((k) => html`<option value=${k}>${t(`import.kind.${k}`)}</option>`)}
          </select>
        <//>
        <${Loaded} state=${orgs}>${(list) => html`<${Field} label=${t('import.organisation')}>
          <select data-testid="import-org" value=${orgId} onChange=${(e) => set({ orgId: Number(e.currentTarget.value) })}>
            ${list.map((o) => html`<option value=${o.id}>${o.name}</option>`)}
          </select>
        <//>`}<//>
        ${form.kind === 'registry' ? html`<${Field} label=${t('import.registryKind')} hint=${t('import.registryKindHint')}>
          <select data-testid="import-registry-kind" value=${form.registryKind} onChange=${(e) => set({ registryKind: e.currentTarget.value })}>
            ${REGISTRY_KINDS.map((k) => html`<option value=${k}>${k ? t(`import.kind.${k}`) : t('import.registryKindExcel')}</option>`)}
          </select>
        <//>` : html`<label class="check"><input type="checkbox" data-testid="import-confirm" checked=${form.confirm}
            onChange=${(e) => set({ confirm: e.currentTarget.checked })} /> ${t('import.confirm')}</label>`}
        <${Field} label=${t('import.chooseFile')}>
          <input type="file" data-testid="import-file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            onChange=${(e) => { setFile(e.currentTarget.files?.[0] ?? null); setChecked(null); setReport(null); }} />
        <//>
      </div>
      <div class="actions">
        <button type="button" data-testid="import-check" disabled=${!file || busy} onClick=${() => send(true)}>${t('import.check')}</button>
        <button type="button" class="primary" data-testid="import-apply" disabled=${!checked || busy} onClick=${() => send(false)}>${t('import.apply')}</button>
      </div>
      ${!checked && file && !report ? html`<p class="muted">${t('import.checkFirst')}</p>` : null}
      <${ErrorNote} error=${error} />
      ${report ? html`<${Report} report=${report} />` : null}
    <//>
  <//>`;
}

const ru = {
  'nav.import': 'Загрузка файлов',
  'import.title': 'Загрузка файлов',
  'import.file': 'Файл Excel или CSV',
  'import.help.readings': 'Показания ИПУ: столбцы лицевой счёт (или адрес и помещение), заводской номер, дата, значение, зона (для многотарифных). Каждая строка проходит те же проверки, что и ввод вручную.',
  'import.help.registry': 'Реестр: дома, помещения, лицевые счета, приборы учёта. В Excel — по листу на каждый вид, в CSV — один вид на файл.',
  'import.kindLabel': 'Что загружаем',
  'import.kind.readings': 'показания',
  'import.kind.registry': 'реестр',
  'import.kind.buildings': 'дома',
  'import.kind.premises': 'помещения',
  'import.kind.accounts': 'лицевые счета',
  'import.kind.meters': 'приборы учёта',
  'import.organisation': 'Управляющая организация',
  'import.registryKind': 'Вид записей',
  'import.registryKindHint': 'Для CSV: какой вид записей в файле',
  'import.registryKindExcel': 'Excel: все листы',
  'import.confirm': 'Принимать значения, требующие подтверждения (переход через ноль, большой расход)',
  'import.chooseFile': 'Файл',
  'import.check': 'Проверить',
  'import.apply': 'Загрузить',
  'import.checkFirst': 'Сначала проверьте файл: загрузка станет доступна, если в нём нет ошибок.',
  'import.state.checked': 'Проверено, ошибок нет. Будет:',
  'import.state.applied': 'Загружено:',
  'import.state.refused': 'Файл не принят, ничего не сохранено. Исправьте строки ниже и загрузите снова.',
  'import.countsReadings': 'новых показаний {insert}, без изменений {unchanged}.',
  'import.countsKind': '{kind}: создать {create}, изменить {update}, без изменений {unchanged}',
  'import.errors': 'Ошибки в строках',
  'import.sheet': 'Лист',
  'import.row': 'Строка',
  'import.column': 'Столбец',
  'import.problem': 'Что не так',
};
const en = {
  'nav.import': 'File import',
  'import.title': 'File import',
  'import.file': 'An Excel or CSV file',
  'import.help.readings': 'Apartment meter readings: columns account (or address and premise), serial, date, value, zone (multi-zone meters). Every row passes the same checks as a reading entered by hand.',
  'import.help.registry': 'Registry: buildings, premises, personal accounts, meters. In Excel one sheet per kind, in CSV one kind per file.',
  'import.kindLabel': 'What the file holds',
  'import.kind.readings': 'readings',
  'import.kind.registry': 'registry',
  'import.kind.buildings': 'buildings',
  'import.kind.premises': 'premises',
  'import.kind.accounts': 'accounts',
  'import.kind.meters': 'meters',
  'import.organisation': 'Management company',
  'import.registryKind': 'Kind of records',
  'import.registryKindHint': 'For CSV: which kind of records the file holds',
  'import.registryKindExcel': 'Excel: every sheet',
  'import.confirm': 'Accept values that need confirmation (a rollover, high consumption)',
  'import.chooseFile': 'File',
  'import.check': 'Check',
  'import.apply': 'Import',
  'import.checkFirst': 'Check the file first: importing is possible once it has no errors.',
  'import.state.checked': 'Checked, no errors. It will make:',
  'import.state.applied': 'Imported:',
  'import.state.refused': 'The file was refused, nothing was stored. Fix the rows below and upload again.',
  'import.countsReadings': '{insert} new readings, {unchanged} unchanged.',
  'import.countsKind': '{kind}: create {create}, update {update}, unchanged {unchanged}',
  'import.errors': 'Errors in rows',
  'import.sheet': 'Sheet',
  'import.row': 'Row',
  'import.column': 'Column',
  'import.problem': 'What is wrong',
};

export const importScreen = {
  id: 'import',
  messages: { ru, en },
  routes: [{ path: '/import', component: ImportScreen, roles: ROLES }],
  nav: [{ href: '/import', key: 'nav.import', roles: ROLES }],
};
