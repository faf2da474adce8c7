/**
 * The language machinery of a page: two dictionaries with the same keys, the choice remembered in
 * localStorage, else the browser's language (Russian for ru/uk/be, English otherwise). Labels are
 * looked up by key with {name} placeholders; a missing key shows as itself, easy to spot.
 */
/* global navigator */

export const LANGUAGES = /** @type {const} */ (['ru', 'en']);

export function createI18n(dictionaries, storageKey) {
  let current = 'en';

  /** Remembered choice first, then the browser's language. */
  function initialLanguage(stored, browserLanguage) {
    if (stored && stored in dictionaries) return stored;
    return /^(ru|uk|be)\b/i.test(browserLanguage || '') ? 'ru' : 'en';
  }

  function initLanguage() {
    current = initialLanguage(window.localStorage.getItem(storageKey), navigator.language);
    document.documentElement.lang = current;
    return current;
  }

  /** Switches the language; `persist: false` only switches (the module tests have no DOM). */
  function setLanguage(lang, { persist = true } = {}) {
    if (!(lang in dictionaries)) throw new Error(`unknown language "${lang}" (known: ${LANGUAGES.join(', ')})`);
    current = lang;
    if (!persist) return;
    window.localStorage.setItem(storageKey, lang);
    document.documentElement.lang = lang;
  }

  const language = () => current;
  const locale = () => (current === 'ru' ? 'ru-RU' : 'en-GB');

  /** The label for a key, with {name} placeholders filled; the key itself when no dictionary has it. */
  function t(key, params) {
    const text = dictionaries[current][key] ?? dictionaries.en[key] ?? key;
    return params ? text.replace(/\{(\w+)\}/g, (_, k) => String(params[k] ?? '')) : text;
  }

  /** A machine code (status, reason, resource, …) in the current language; unknown codes shown as they are. */
  function tc(prefix, code) {
    if (code == null) return t('common.none');
    const key = `${prefix}.${code}`;
    return key in dictionaries[current] ? dictionaries[current][key] : String(code);
  }

  return { initialLanguage, initLanguage, setLanguage, language, locale, t, tc };
}
