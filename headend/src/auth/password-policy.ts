/**
 * The one password policy, for every path that sets a staff password: user creation (API and
 * `createUser`), password change (PATCH /users/:id) and the admin CLI (admin/channel.ts). Rules:
 * at least 10 characters (and at most 256), not the login, not one or two characters repeated, and not
 * in the list of common passwords — the ~49 000 most frequent ones from leaks, as shipped by
 * @zxcvbn-ts/language-common (kept up to date there; compared case-insensitively). Each refusal names
 * the rule, so whoever chose the password knows what to change.
 */
import { dictionary } from '@zxcvbn-ts/language-common';

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;

let common: Set<string> | null = null;
/** Built on first use: the list is large and most processes never set a password. */
function commonPasswords(): Set<string> {
  common ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return common;
}

/**
 * Why the password is refused — "the password is too weak: <the rule>" — or null when it is acceptable.
 * `login`: the user's login, or null when it is not known.
 */
export function passwordProblem(login: string | null, password: string): string | null {
  const rule = brokenRule(login, password);
  return rule === null ? null : `the password is too weak: ${rule}`;
}

function brokenRule(login: string | null, password: string): string | null {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) return `at least ${PASSWORD_MIN} characters (and at most ${PASSWORD_MAX}) are needed, got ${password.length}`;
  if (login !== null && password.trim().toLowerCase() === login.trim().toLowerCase()) return 'it must not be the login';
  if (new Set(password).size < 3) return 'it repeats one or two characters; use a longer mix';
  if (commonPasswords().has(password.toLowerCase())) return 'it is in the list of common passwords, the ones tried first by anyone guessing; choose another';
  return null;
}
