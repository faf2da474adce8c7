/**
 * Mounts a view written with the DOM builder (views/*.js) inside the Preact console until it is
 * rewritten as a component: the view renders into a div, charts are disposed when it leaves.
 */
/* global location, URLSearchParams */
import { html, useEffect, useRef, useState } from '../../web-shared/ui.js';
import { disposeCharts } from '../charts.js';
import { ErrorNote } from '../ui/components.js';
import { t } from '../i18n.js';

export function LegacyView({ render, args, me, query }) {
  const ref = useRef(null);
  const [error, setError] = useState(null);
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let current = true;
    setError(null);
    const ctx = { me, query: new URLSearchParams(query), isCurrent: () => current, navigate: (hash) => { location.hash = hash; }, reload: () => setNonce((n) => n + 1) };
    ref.current.replaceChildren(Object.assign(document.createElement('p'), { className: 'muted', textContent: t('common.loading') }));
    render(...args, ctx).then((view) => {
      if (!current) return;
      ref.current.replaceChildren(view.node);
      view.afterMount?.();
    }, (e) => { if (current) { ref.current.replaceChildren(); setError(e); } });
    return () => { current = false; disposeCharts(); };
  }, [render, JSON.stringify(args), query, me, nonce]);
  return html`<div ref=${ref}></div><${ErrorNote} error=${error} />`;
}
