/**
 * The pages' UI stack in one import: Preact components written with htm's tagged templates (no build
 * step: `html\`<p>${value}</p>\``), wouter's router on the URL's hash, and the few hooks every screen
 * needs. Values go into the DOM as text (Preact never sets innerHTML from a string), so nothing the API
 * returns or a person typed can inject markup.
 *
 * Hash routes carry their query inside the hash (`#/buildings/3?from=2025-01`): the path part is what
 * routes match, the query part is the screen's state (filters, dates), so a reload or a shared link
 * opens the same view.
 */
/* global location, addEventListener, removeEventListener, URLSearchParams */
import { h, render, Fragment, createContext } from 'preact';
import { useState, useEffect, useMemo, useRef, useCallback, useContext, useLayoutEffect } from 'preact/hooks';
import { html } from 'htm/preact';
import { Router, Route, Switch, Link, Redirect, useParams, useLocation, useRoute } from 'wouter-preact';

export { h, render, Fragment, createContext, html };
export { useState, useEffect, useMemo, useRef, useCallback, useContext, useLayoutEffect };
export { Router, Route, Switch, Link, Redirect, useParams, useLocation, useRoute };

// ---------- the hash as the router's location ----------

const hashPath = () => '/' + location.hash.replace(/^#?\/?/, '').split('?')[0];
const hashQuery = () => location.hash.split('?')[1] ?? '';

function subscribeHash(cb) {
  addEventListener('hashchange', cb);
  return () => removeEventListener('hashchange', cb);
}

function useHashValue(read) {
  const [value, setValue] = useState(read);
  useEffect(() => subscribeHash(() => setValue(read())), []);
  return value;
}

/** Goes to a hash route ('/meters/3?from=…'); `replace` keeps the back button on the previous screen. */
export function navigate(to, { replace = false } = {}) {
  const hash = '#' + (to.startsWith('/') ? to : '/' + to);
  if (replace) location.replace(hash);
  else location.hash = hash;
}

/** wouter's location hook: the path part of the hash. */
export const useHashLocation = () => [useHashValue(hashPath), navigate];
/** wouter's search hook: the query part of the hash. */
export const useHashSearch = () => useHashValue(hashQuery);
useHashLocation.hrefs = (href) => '#' + href;
useHashLocation.searchHook = useHashSearch;

/** The hash query as an object, and a setter that merges into it (empty values removed). */
export function useQuery() {
  const search = useHashSearch();
  const [path] = useHashLocation();
  const query = useMemo(() => Object.fromEntries(new URLSearchParams(search)), [search]);
  const setQuery = useCallback((patch, opts) => {
    const next = new URLSearchParams(Object.entries({ ...query, ...patch }).filter(([, v]) => v != null && v !== ''));
    const qs = next.toString();
    navigate(path + (qs ? `?${qs}` : ''), opts);
  }, [query, path]);
  return [query, setQuery];
}

// ---------- data ----------

/**
 * Loads data for a screen: `{ data, error, loading, reload }`. A newer load wins over a slower older
 * one (typing in a filter fires several), and nothing is set after the screen is gone.
 */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    Promise.resolve().then(load).then(
      (data) => { if (mine === generation.current) setState({ data, error: null, loading: false }); },
      (error) => { if (mine === generation.current) setState({ data: undefined, error, loading: false }); });
  }, deps);
  useEffect(() => { run(); return () => { generation.current++; }; }, [run]);
  return { ...state, reload: run };
}

/**
 * A form that starts from loaded data: `[form, setForm]`, filled by `init(data)` when the data first
 * arrives and again only when `key` changes (another resource, another scope). A reload alone never
 * refills it: a refresh landing after a save would otherwise replace what the user is typing.
 */
export function useFormFrom(data, key, init) {
  const [form, setForm] = useState(null);
  const shown = useRef(undefined);
  useEffect(() => {
    if (data === undefined || shown.current === key) return;
    shown.current = key;
    setForm(init(data));
  }, [data, key]);
  return [form, setForm];
}

/**
 * An action a button starts (save, close, acknowledge): `[run, { busy, error, result }]`; a second
 * click while it runs does nothing, so a double tap never sends twice.
 */
export function useAction(action) {
  const [state, setState] = useState({ busy: false, error: null, result: undefined });
  const busy = useRef(false);
  const run = useCallback(async (...args) => {
    if (busy.current) return undefined;
    busy.current = true;
    setState({ busy: true, error: null, result: undefined });
    try {
      const result = await action(...args);
      setState({ busy: false, error: null, result });
      return result;
    } catch (error) {
      setState({ busy: false, error, result: undefined });
      return undefined;
    } finally {
      busy.current = false;
    }
  }, [action]);
  return [run, state];
}
