/**
 * Engineers' dashboard: shell, login and hash router.
 *
 * Plain ES modules and one CSS file, no build step: there is no bundler to maintain or keep in step
 * with the head-end, and the files the browser runs are exactly the files in this directory, served as
 * they are by the head-end (src/dashboard). ECharts comes from the echarts package's own bundle.
 *
 * Routes: #/ buildings · #/buildings/:id building · #/buildings/:id/entry staff reading entry · #/meters/:id meter.
 */
/* global location, URLSearchParams */
import { api, ApiError, setToken, token } from './api.js';
import { initLanguage, language, setLanguage, t } from './i18n.js';
import { h } from './dom.js';
import { disposeCharts } from './charts.js';
import { renderBuildings } from './views/buildings.js';
import { renderBuilding } from './views/building.js';
import { renderMeter } from './views/meter.js';
import { renderEntry } from './views/entry.js';
import { setQueueUser } from './entry-queue.js';

const ENGINEER_ROLES = new Set(['admin', 'engineer', 'operator', 'billing']);
const app = document.getElementById('app');
let me = null;

function header() {
  return h('header', { class: 'top' },
    h('a', { class: 'brand', href: '#/' }, h('strong', {}, t('app.title')), h('span', { class: 'sub' }, t('app.subtitle'))),
    h('nav', {},
      me && ENGINEER_ROLES.has(me.role) ? h('a', { href: '#/', 'data-testid': 'nav-buildings' }, t('nav.buildings')) : null,
      me ? h('span', { class: 'who', 'data-testid': 'whoami' }, `${me.name} · ${me.role}`) : null,
      h('button', {
        type: 'button', class: 'lang', 'data-testid': 'lang-toggle', title: t('lang.switchTitle'),
        onclick: () => { setLanguage(language() === 'ru' ? 'en' : 'ru'); route(); },
      }, t('lang.switch')),
      me ? h('button', { type: 'button', class: 'link', 'data-testid': 'logout', onclick: logout }, t('nav.logout')) : null));
}

function loginView(message) {
  const err = h('p', { class: 'error', role: 'alert', 'data-testid': 'login-error' }, message ?? '');
  const form = h('form', { class: 'card login', 'data-testid': 'login-form' },
    h('h1', {}, t('login.title')),
    h('label', {}, t('login.username'), h('input', { name: 'username', autocomplete: 'username', required: true })),
    h('label', {}, t('login.password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit', class: 'primary' }, t('login.submit')),
    err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new window.FormData(form);
    try {
      const res = await api('/auth/login', { method: 'POST', body: { username: String(data.get('username')), password: String(data.get('password')) } });
      setToken(res.token);
      await route();
    } catch (ex) {
      err.textContent = ex instanceof ApiError && ex.status === 401 ? t('login.failed') : `${t('common.error')}: ${ex.message}`;
    }
  });
  return form;
}

async function logout() {
  try { await api('/auth/logout', { method: 'POST' }); } catch { /* the token may already be gone */ }
  setToken(null);
  me = null;
  setQueueUser(null);
  location.hash = '#/';
  await route();
}

function parseHash() {
  const [path, query] = (location.hash.replace(/^#/, '') || '/').split('?');
  return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(query ?? '') };
}

let generation = 0;

/** Renders the page for the current hash; a newer navigation wins over a slower older one. */
export async function route() {
  const mine = ++generation;
  disposeCharts();
  document.title = t('app.title');
  if (!token()) { me = null; app.replaceChildren(header(), h('main', {}, loginView())); return; }
  if (!me) {
    try { me = await api('/auth/me'); setQueueUser(me); } catch { setToken(null); me = null; setQueueUser(null); app.replaceChildren(header(), h('main', {}, loginView())); return; }
  }
  const main = h('main', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('common.loading')));
  app.replaceChildren(header(), main);
  if (!ENGINEER_ROLES.has(me.role)) {
    main.replaceChildren(h('section', { class: 'card notice', 'data-testid': 'resident-notice' }, h('p', {}, me.role === 'resident' ? t('login.resident') : t('login.forbidden'))));
    return;
  }
  const { parts, query } = parseHash();
  const ctx = { me, query, isCurrent: () => mine === generation, navigate: (hash) => { location.hash = hash; }, reload: () => route() };
  try {
    let view;
    if (parts[0] === 'buildings' && parts[1] && parts[2] === 'entry') view = await renderEntry(Number(parts[1]), ctx);
    else if (parts[0] === 'buildings' && parts[1]) view = await renderBuilding(Number(parts[1]), ctx);
    else if (parts[0] === 'meters' && parts[1]) view = await renderMeter(Number(parts[1]), ctx);
    else view = await renderBuildings(ctx);
    if (!ctx.isCurrent()) return;
    main.replaceChildren(view.node);
    main.removeAttribute('aria-busy');
    view.afterMount?.();
  } catch (e) {
    if (!ctx.isCurrent()) return;
    main.replaceChildren(h('section', { class: 'card error', role: 'alert' }, `${t('common.error')}: ${e.message}`));
    main.removeAttribute('aria-busy');
  }
}

initLanguage();
window.addEventListener('hashchange', () => { route(); });
window.addEventListener('amr:logged-out', () => { me = null; setQueueUser(null); });
route();
