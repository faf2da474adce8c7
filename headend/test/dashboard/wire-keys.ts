/**
 * The API's one casing, checked on a response: every key of the JSON, at any depth, that is not
 * snake_case (has a capital letter). `verbatim` names keys whose values are a device's message kept
 * as it was received (the MQTT contract's own casing), not the API's names.
 */
export function camelKeys(value: unknown, verbatim: readonly string[] = [], path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => camelKeys(v, verbatim, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(/[A-Z]/.test(k) ? [`${path}.${k}`] : []),
    ...(verbatim.includes(k) ? [] : camelKeys(v, verbatim, `${path}.${k}`)),
  ]);
}
