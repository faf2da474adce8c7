/**
 * Residents' access (#/access?building=<id>): a building's open accounts with the state of their
 * one-time code (none / active until … / used / revoked / expired, issued when and by whom), a code for
 * one account (shown once, here), revoking a live code, and invite letters for the whole building as one
 * PDF (the codes are printed there and nowhere else).
 * API: GET /buildings, GET /buildings/:id/access-codes, POST /buildings/:id/access-codes (PDF),
 * POST /accounts/:id/access-code, DELETE /accounts/:id/access-code.
 */
import { html, useState, useCallback, useLoad, useAction } from '../../../web-shared/ui.js';
import { api, download } from '../../api.js';
import { t, locale } from '../../i18n.js';
import { Page, Card, DataTable, ErrorNote, Loaded } from '../../ui/components.js';
import { useChosenBuilding, BuildingSelect, dateTimeIn } from '../../ui/building-select.js';

const ROLES = ['admin', 'engineer'];

/** Issues the codes and saves the PDF the API answers; the number of letters. */
async function downloadLetters(buildingId, accounts) {
  const { name, headers } = await download(`/buildings/${buildingId}/access-codes`, { method: 'POST', body: { accounts }, fallbackName: 'invites.pdf' });
  return { letters: Number(headers.get('x-letters') ?? 0), name };
}

function StateCell({ row, tz }) {
  const loc = locale();
  const when = {
    active: row.expires_at && t('access.until', { date: dateTimeIn(row.expires_at, tz, loc) }),
    used: row.used_at && dateTimeIn(row.used_at, tz, loc),
    revoked: row.revoked_at && dateTimeIn(row.revoked_at, tz, loc),
    expired: row.expires_at && dateTimeIn(row.expires_at, tz, loc),
  }[row.state];
  return html`<span class=${`badge access-${row.state}`} data-testid=${`access-state-${row.account_id}`} data-code=${row.state}>${t(`access.state.${row.state}`)}</span>
    ${when ? html` <small class="muted">${when}</small>` : null}`;
}

function Letters({ building, onDone }) {
  const [accounts, setAccounts] = useState('without_code');
  const [print, printing] = useAction(useCallback(async () => {
    const r = await downloadLetters(building.id, accounts);
    onDone();
    return r;
  }, [building.id, accounts]));
  return html`<${Card} title=${t('access.letters.title')} testid="access-letters">
    <p class="muted">${t('access.letters.hint')}</p>
    <fieldset class="choice">
      <legend>${t('access.letters.which')}</legend>
      ${['without_code', 'all'].map((v) => html`<label class="radio">
        <input type="radio" name="letters-accounts" value=${v} checked=${accounts === v} data-testid=${`letters-${v}`} onChange=${() => setAccounts(v)} />
        ${t(`access.letters.${v}`)}</label>`)}
    </fieldset>
    <div class="actions">
      <button type="button" class="primary" data-testid="letters-print" disabled=${printing.busy} onClick=${() => print()}>
        ${printing.busy ? t('access.letters.printing') : t('access.letters.print')}</button>
    </div>
    ${printing.result ? html`<p class="note ok" role="status" data-testid="letters-done">${t('access.letters.done', { count: printing.result.letters, file: printing.result.name })}</p>` : null}
    <${ErrorNote} error=${printing.error} testid="letters-error" />
  <//>`;
}

function Accounts({ building, version, onChange }) {
  const state = useLoad(() => api(`/buildings/${building.id}/access-codes`), [building.id, version]);
  const [issued, setIssued] = useState(null);
  const [issue, issuing] = useAction(useCallback(async (row) => {
    const r = await api(`/accounts/${row.account_id}/access-code`, { method: 'POST', body: {} });
    setIssued({ ...r, premise: row.premise_number });
    onChange();
    return r;
  }, [onChange]));
  const [revoke, revoking] = useAction(useCallback(async (row) => {
    await api(`/accounts/${row.account_id}/access-code`, { method: 'DELETE' });
    setIssued((x) => (x?.account_id === row.account_id ? null : x));
    onChange();
  }, [onChange]));
  const tz = building.timezone;
  const loc = locale();
  const columns = [
    { key: 'premise_number', label: t('access.col.flat') },
    { key: 'account_number', label: t('access.col.account') },
    { key: 'state', label: t('access.col.state'), render: (r) => html`<${StateCell} row=${r} tz=${tz} />` },
    { key: 'issued_at', label: t('access.col.issued'), render: (r) => (r.issued_at ? `${dateTimeIn(r.issued_at, tz, loc)}${r.issued_by ? ` · ${r.issued_by}` : ''}` : t('common.none')) },
    {
      key: 'actions', label: t('access.col.actions'), render: (r) => html`<div class="actions">
        <button type="button" data-testid=${`access-issue-${r.account_id}`} disabled=${issuing.busy}
          aria-label=${t('access.issueFor', { account: r.account_number })} onClick=${() => issue(r)}>${t('access.issue')}</button>
        ${r.state === 'active' ? html`<button type="button" class="danger" data-testid=${`access-revoke-${r.account_id}`} disabled=${revoking.busy}
          aria-label=${t('access.revokeFor', { account: r.account_number })} onClick=${() => revoke(r)}>${t('access.revoke')}</button>` : null}
      </div>`,
    },
  ];
  return html`<${Card} title=${t('access.accounts')} testid="access-accounts">
    ${issued ? html`<div class="note ok" role="status" data-testid="access-issued">
      <p>${t('access.issued', { account: issued.account_number, flat: issued.premise, date: dateTimeIn(issued.expires_at, tz, loc) })}</p>
      <p class="code" data-testid="access-issued-code">${issued.code}</p>
      <small>${t('access.issuedOnce')}</small>
    </div>` : null}
    <${ErrorNote} error=${issuing.error ?? revoking.error} testid="access-error" />
    <${Loaded} state=${state}>${(data) => html`<${DataTable} columns=${columns} rows=${data.items} rowKey=${(r) => r.account_id}
      testid="access-table" rowTestid=${(r) => `access-row-${r.account_id}`} caption=${t('access.accounts')} empty=${t('access.empty')} />`}<//>
  <//>`;
}

function AccessScreen() {
  const { state, buildings, building, setBuilding } = useChosenBuilding();
  const [version, setVersion] = useState(0);
  const changed = useCallback(() => setVersion((v) => v + 1), []);
  return html`<${Page} title=${t('access.title')} testid="access-page">
    <div class="access-page">
      <${Loaded} state=${state}>${() => (buildings.length === 0
        ? html`<p class="muted empty" data-testid="access-no-buildings">${t('access.noBuildings')}</p>`
        : html`<${BuildingSelect} buildings=${buildings} value=${building?.id} onChange=${setBuilding} label=${t('access.building')} />
          ${building ? html`<${Letters} building=${building} onDone=${changed} />
            <${Accounts} building=${building} version=${version} onChange=${changed} />` : null}`)}<//>
    </div>
  <//>`;
}

export const accessScreen = {
  id: 'access',
  messages: {
    ru: {
      'nav.access': 'Доступ жильцов',
      'access.title': 'Доступ жильцов к странице показаний',
      'access.building': 'Дом',
      'access.noBuildings': 'Нет домов, к которым у вас есть доступ.',
      'access.accounts': 'Лицевые счета и коды',
      'access.empty': 'В доме нет открытых лицевых счетов.',
      'access.col.flat': 'Кв.',
      'access.col.account': 'Лицевой счёт',
      'access.col.state': 'Код',
      'access.col.issued': 'Выдан',
      'access.col.actions': 'Действия',
      'access.state.none': 'не выдан',
      'access.state.active': 'действует',
      'access.state.used': 'использован',
      'access.state.revoked': 'отозван',
      'access.state.expired': 'истёк',
      'access.until': 'до {date}',
      'access.issue': 'Выдать код',
      'access.issueFor': 'Выдать код для счёта {account}',
      'access.revoke': 'Отозвать',
      'access.revokeFor': 'Отозвать код счёта {account}',
      'access.issued': 'Код для счёта {account} (кв. {flat}), действует до {date}:',
      'access.issuedOnce': 'Код показан один раз: передайте его жильцу сейчас. Прежний неиспользованный код больше не действует.',
      'access.letters.title': 'Письма-приглашения для всего дома',
      'access.letters.hint': 'Один PDF: на каждый лицевой счёт страница A4 с адресом, кодом, ссылкой и QR-кодом страницы жильца. Коды есть только в этом файле.',
      'access.letters.which': 'Для каких счетов',
      'access.letters.without_code': 'без действующего кода',
      'access.letters.all': 'для всех (прежние коды перестанут действовать)',
      'access.letters.print': 'Выдать коды и скачать PDF',
      'access.letters.printing': 'Готовим письма…',
      'access.letters.done_one': 'Готово: {count} письмо в файле {file}.',
      'access.letters.done_few': 'Готово: {count} письма в файле {file}.',
      'access.letters.done_many': 'Готово: {count} писем в файле {file}.',
      'access.letters.done_other': 'Готово: {count} письма в файле {file}.',
    },
    en: {
      'nav.access': 'Residents\' access',
      'access.title': 'Residents\' access to the readings page',
      'access.building': 'Building',
      'access.noBuildings': 'There are no buildings you have access to.',
      'access.accounts': 'Personal accounts and codes',
      'access.empty': 'The building has no open personal accounts.',
      'access.col.flat': 'Flat',
      'access.col.account': 'Account',
      'access.col.state': 'Code',
      'access.col.issued': 'Issued',
      'access.col.actions': 'Actions',
      'access.state.none': 'not issued',
      'access.state.active': 'active',
      'access.state.used': 'used',
      'access.state.revoked': 'revoked',
      'access.state.expired': 'expired',
      'access.until': 'until {date}',
      'access.issue': 'Issue code',
      'access.issueFor': 'Issue code for account {account}',
      'access.revoke': 'Revoke',
      'access.revokeFor': 'Revoke the code of account {account}',
      'access.issued': 'Code for account {account} (flat {flat}), valid until {date}:',
      'access.issuedOnce': 'The code is shown once: give it to the resident now. The previous unused code no longer works.',
      'access.letters.title': 'Invite letters for the whole building',
      'access.letters.hint': 'One PDF: an A4 page per personal account with the address, the code, the link and QR code of the residents\' page. The codes exist only in this file.',
      'access.letters.which': 'For which accounts',
      'access.letters.without_code': 'without a live code',
      'access.letters.all': 'all (previous codes stop working)',
      'access.letters.print': 'Issue codes and download PDF',
      'access.letters.printing': 'Preparing the letters…',
      'access.letters.done_one': 'Done: {count} letter in {file}.',
      'access.letters.done_other': 'Done: {count} letters in {file}.',
    },
  },
  routes: [{ path: '/access', component: AccessScreen, roles: ROLES }],
  nav: [{ href: '/access', key: 'nav.access', roles: ROLES }],
};
