/**
 * The operator console: sign-in, the header with the menu and the language switch, and the hash router
 * over every screen (screens/index.js). Preact components in htm templates, no build step: the files the
 * browser runs are the files in this folder, the libraries come from the head-end's /vendor/ (import map).
 *
 * Who sees what: staff roles (admin, engineer, operator, billing) get the console; a resident is sent to
 * the residents' page. Each screen's menu entry names the roles it is for.
 */
import { html, render, Router, Route, Switch, useState, useEffect, useCallback, useHashLocation, navigate } from '../web-shared/ui.js';
import { api, ApiError, setToken, token } from './api.js';
import { addMessages, initLanguage, language, onLanguage, setLanguage, t } from './i18n.js';
import { setQueueUser } from './entry-queue.js';
import { SCREENS } from './screens/index.js';
import { ErrorNote } from './ui/components.js';

const STAFF_ROLES = new Set(['admin', 'engineer', 'operator', 'billing']);
for (const s of SCREENS) addMessages(s.messages ?? {});

function Login({ onSignedIn }) {
  const [error, setError] = useState('');
  async function submit(e) {
    e.preventDefault();
    const data = new window.FormData(e.currentTarget);
    try {
      const res = await api('/auth/login', { method: 'POST', body: { username: String(data.get('username')), password: String(data.get('password')) } });
      setToken(res.token);
      onSignedIn();
    } catch (ex) {
      setError(ex instanceof ApiError && ex.status === 401 ? t('login.failed') : `${t('common.error')}: ${ex.message}`);
    }
  }
  return html`<form class="card login" data-testid="login-form" onSubmit=${submit}>
    <h1>${t('login.title')}</h1>
    <label>${t('login.username')}<input name="username" autocomplete="username" required /></label>
    <label>${t('login.password')}<input name="password" type="password" autocomplete="current-password" required /></label>
    <button type="submit" class="primary">${t('login.submit')}</button>
    <p class="error" role="alert" data-testid="login-error">${error}</p>
  </form>`;
}

function Header({ me, onLogout, onLanguageSwitch }) {
  const [path] = useHashLocation();
  const items = me && STAFF_ROLES.has(me.role)
    ? SCREENS.flatMap((s) => s.nav ?? []).filter((n) => !n.roles || n.roles.includes(me.role))
    : [];
  const current = (href) => (href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`));
  return html`<header class="top">
    <a class="brand" href="#/"><strong>${t('app.title')}</strong><span class="sub">${t('app.subtitle')}</span></a>
    ${items.length ? html`<nav class="menu" aria-label=${t('nav.menu')}>
      ${items.map((n) => html`<a href=${`#${n.href}`} data-testid=${`nav-${n.href === '/' ? 'buildings' : n.href.slice(1).replace(/\//g, '-')}`}
        aria-current=${current(n.href) ? 'page' : null}>${t(n.key)}</a>`)}
    </nav>` : null}
    <div class="session">
      ${me ? html`<span class="who" data-testid="whoami">${me.name} · ${t(`role.${me.role}`)}</span>` : null}
      <button type="button" class="lang" data-testid="lang-toggle" title=${t('lang.switchTitle')} onClick=${onLanguageSwitch}>${t('lang.switch')}</button>
      ${me ? html`<button type="button" class="link" data-testid="logout" onClick=${onLogout}>${t('nav.logout')}</button>` : null}
    </div>
  </header>`;
}

function NotFound() {
  return html`<section class="card notice" data-testid="not-found"><p>${t('common.notFound')}</p><a href="#/">${t('common.home')}</a></section>`;
}

function App() {
  const [me, setMe] = useState(undefined); // undefined: asking; null: signed out
  const [error, setError] = useState(null);
  const [, rerender] = useState(0);
  const refresh = useCallback(() => rerender((n) => n + 1), []);

  const loadMe = useCallback(async () => {
    if (!token()) { setMe(null); setQueueUser(null); return; }
    try {
      const who = await api('/auth/me');
      setQueueUser(who);
      setMe(who);
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) { setToken(null); setMe(null); setQueueUser(null); } else setError(e);
    }
  }, []);

  useEffect(() => { loadMe(); }, [loadMe]);
  useEffect(() => onLanguage(refresh), [refresh]);
  useEffect(() => {
    const ended = () => { setMe(null); setQueueUser(null); };
    window.addEventListener('amr:logged-out', ended);
    return () => window.removeEventListener('amr:logged-out', ended);
  }, []);

  async function logout() {
    try { await api('/auth/logout', { method: 'POST' }); } catch { /* the token may already be gone */ }
    setToken(null);
    setQueueUser(null);
    setMe(null);
    navigate('/');
  }
  const switchLanguage = () => setLanguage(language() === 'ru' ? 'en' : 'ru');

  let body;
  if (error) body = html`<${ErrorNote} error=${error} />`;
  else if (me === undefined) body = html`<p class="muted" aria-busy="true">${t('common.loading')}</p>`;
  else if (me === null) body = html`<${Login} onSignedIn=${loadMe} />`;
  else if (!STAFF_ROLES.has(me.role)) {
    body = html`<section class="card notice" data-testid="resident-notice"><p>${me.role === 'resident' ? t('login.resident') : t('login.forbidden')}</p></section>`;
  } else {
    const routes = SCREENS.flatMap((s) => s.routes).filter((r) => !r.roles || r.roles.includes(me.role));
    body = html`<${Switch}>
      ${routes.map((r) => html`<${Route} path=${r.path}>${(params) => html`<${r.component} params=${params} me=${me} reload=${refresh} key=${language()} />`}<//>`)}
      <${Route}><${NotFound} /><//>
    <//>`;
  }
  return html`<${Router} hook=${useHashLocation}>
    <${Header} me=${me} onLogout=${logout} onLanguageSwitch=${switchLanguage} />
    <main id="main">${body}</main>
  <//>`;
}

initLanguage();
render(html`<${App} />`, document.getElementById('app'));
