/**
 * The language machinery of both pages, on i18next: dictionaries with the same keys per language (flat
 * keys with dots, {name} placeholders, plural forms by the language's rules: key_one / key_few /
 * key_many / key_other with `count`), the choice remembered in localStorage, else the browser's language
 * (Russian for ru/uk/be, English otherwise). A missing key shows as itself, easy to spot; a key missing
 * in Russian falls back to English.
 *
 * Screens add their own dictionaries with addMessages(), so each screen keeps its words beside its code.
 */
/* global navigator */
import i18next from 'i18next';

export const LANGUAGES = /** @type {const} */ (['ru', 'en']);

export function createI18n(dictionaries, storageKey) {
  const i18n = i18next.createInstance();
  i18n.init({
    resources: Object.fromEntries(Object.entries(dictionaries).map(([lang, d]) => [lang, { translation: d }])),
    lng: 'en', fallbackLng: 'en', supportedLngs: [...LANGUAGES],
    keySeparator: false, nsSeparator: false, returnNull: false, initAsync: false, showSupportNotice: false,
    interpolation: { prefix: '{', suffix: '}', escapeValue: false }, // values are put in as text by the DOM layer
  });
  const listeners = new Set();

  /** Remembered choice first, then the browser's language. */
  function initialLanguage(stored, browserLanguage) {
    if (stored && stored in dictionaries) return stored;
    return /^(ru|uk|be)\b/i.test(browserLanguage || '') ? 'ru' : 'en';
  }

  function initLanguage() {
    const lang = initialLanguage(window.localStorage.getItem(storageKey), navigator.language);
    i18n.changeLanguage(lang);
    document.documentElement.lang = lang;
    return lang;
  }

  /** Switches the language; `persist: false` only switches (the module tests have no DOM). */
  function setLanguage(lang, { persist = true } = {}) {
    if (!LANGUAGES.includes(lang)) throw new Error(`unknown language "${lang}" (known: ${LANGUAGES.join(', ')})`);
    i18n.changeLanguage(lang);
    for (const fn of listeners) fn(lang);
    if (!persist) return;
    window.localStorage.setItem(storageKey, lang);
    document.documentElement.lang = lang;
  }

  const language = () => i18n.language;
  const locale = () => (i18n.language === 'ru' ? 'ru-RU' : 'en-GB');

  /** The label for a key, with {name} placeholders filled (and `count` choosing the plural form). */
  const t = (key, params) => i18n.t(key, params);

  /** A machine code (status, reason, resource, …) in the current language; unknown codes shown as they are. */
  function tc(prefix, code) {
    if (code == null) return t('common.none');
    const key = `${prefix}.${code}`;
    return i18n.exists(key) ? t(key) : String(code);
  }

  /** Whether a key has a text in the current language or English. */
  const has = (key) => i18n.exists(key);

  /** A screen's own words: { ru: {...}, en: {...} }, merged into the page's dictionaries. */
  function addMessages(messages) {
    for (const [lang, d] of Object.entries(messages)) i18n.addResources(lang, 'translation', d);
  }

  /** Called with the new language after every switch (the UI re-renders). */
  function onLanguage(fn) { listeners.add(fn); return () => listeners.delete(fn); }

  return { initialLanguage, initLanguage, setLanguage, language, locale, t, tc, has, addMessages, onLanguage };
}
