/**
 * Where an exchange config's files live (transport, server, login, pinned host key), checked as a
 * whole: a create, or a change merged onto what is stored. Pure; the API turns problems into a 400
 * naming each field. The secret is write-only: it comes in as `password` or `private_key` and is kept
 * as secret + secret_kind.
 */
import type { TransportConfig, TransportKind } from './transports/index.js';

export interface TransportInput {
  transport?: TransportKind;
  folder?: string;
  host?: string | null;
  port?: number | null;
  username?: string | null;
  password?: string | null;
  private_key?: string | null;
  host_key_sha256?: string | null;
}

export interface ConfigProblem { path: string; message: string }

const REMOTE_FIELDS = ['host', 'port', 'username', 'password', 'private_key', 'host_key_sha256'] as const;

/** The stored transport fields after applying `body` to `before` (null for a create), and what is wrong with them. */
export function resolveTransport(before: TransportConfig | null, body: TransportInput): { value: TransportConfig; problems: ConfigProblem[] } {
  const transport = body.transport ?? before?.transport ?? 'folder';
  const folder = body.folder ?? before?.folder ?? '';
  const problems: ConfigProblem[] = [];
  const problem = (field: string, message: string) => problems.push({ path: `body.${field}`, message });

  if (transport === 'folder') {
    for (const k of REMOTE_FIELDS) if (body[k] != null) problem(k, `${k} is only for transport ftp, ftps or sftp (this config's transport is folder)`);
    // Switching to a local folder drops the server and its login rather than keeping a secret nobody uses.
    return { value: { transport, folder, host: null, port: null, username: null, secret: null, secret_kind: null, host_key_sha256: null }, problems };
  }

  const wasRemote = before !== null && before.transport !== 'folder';
  const pick = <K extends 'host' | 'port' | 'username'>(k: K) => (body[k] !== undefined ? body[k] : wasRemote ? before[k] : null) ?? null;
  const host = pick('host');
  const port = pick('port');
  const username = pick('username');
  if (!host) problem('host', `${transport} needs host`);
  if (!username) problem('username', `${transport} needs username`);

  let secret = wasRemote ? before.secret : null;
  let kind = wasRemote ? before.secret_kind : null;
  if (body.password != null && body.private_key != null) problem('password', 'give password or private_key, not both');
  else if (body.password != null) [secret, kind] = [body.password, 'password'];
  else if (body.private_key != null) [secret, kind] = [body.private_key, 'private_key'];
  else if (body.password === null || body.private_key === null) [secret, kind] = [null, null];

  let hostKey = body.host_key_sha256 !== undefined ? body.host_key_sha256 : before?.transport === 'sftp' ? before.host_key_sha256 : null;
  if (transport === 'sftp') {
    if (!secret) problem('password', 'sftp needs password or private_key');
  } else {
    if (kind === 'private_key') {
      problem(body.private_key != null ? 'private_key' : 'password', `${transport} logs in with a password; a private key is for sftp${body.private_key != null ? '' : ' (give password)'}`);
    }
    if (body.host_key_sha256 != null) problem('host_key_sha256', `host_key_sha256 is for sftp only (${transport === 'ftps' ? 'ftps checks the server\'s TLS certificate' : 'plain ftp has no server identity to pin'})`);
    hostKey = null;
  }
  return { value: { transport, folder, host, port, username, secret, secret_kind: kind, host_key_sha256: hostKey ?? null }, problems };
}

/** A config as the API shows it and the audit log records it: everything but the secret. */
export function publicConfig<T extends { secret?: string | null }>(row: T): Omit<T, 'secret'> & { has_secret: boolean } {
  const { secret, ...rest } = row;
  return { ...rest, has_secret: secret != null };
}
