/**
 * SFTP via ssh2-sftp-client. The server must present the host key pinned in the config (SHA-256
 * fingerprint); with none pinned every key is refused, because accepting the first key seen would
 * hand the password to whoever answers first. The refusal says which key the server presented, so
 * an operator can compare it with the one the server's administrator reads off the server.
 */
import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { sshFingerprint, type RemoteSettings } from './remote.js';
import { fileBytes, errorsName, isInboxXml, partName, TransportError, withDeadline, type DoneFolder, type ExchangeTransport, type TransportTimeouts } from './types.js';

export class HostKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostKeyError';
  }
}

export async function openSftp(s: RemoteSettings, t: TransportTimeouts): Promise<ExchangeTransport> {
  const location = s.location;
  // The library's default listeners print connection events to the console; an operation that
  // needs the lost connection fails with its own error, which the run logs.
  const quiet = () => undefined;
  const client = new SftpClient(`amr-exchange ${location}`, { error: quiet, end: quiet, close: quiet });
  const abort = () => { void client.end().catch(() => undefined); };
  const fail = (what: string, e: unknown) => new TransportError(location, what, e, s.secret);
  const op = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await withDeadline(fn(), t.operationMs, abort);
    } catch (e) {
      throw fail(what, e);
    }
  };

  // Set by hostVerifier during connect; stated as a type because TypeScript cannot see the callback assign it.
  let presented = null as string | null;
  try {
    await withDeadline(client.connect({
      host: s.host, port: s.port, username: s.username,
      ...(s.secretKind === 'private_key' ? { privateKey: s.secret ?? '' } : { password: s.secret ?? '' }),
      readyTimeout: t.connectMs,
      // Only the key's own fingerprint decides; no known_hosts file, no trust on first use.
      hostVerifier: (key: Buffer) => {
        presented = sshFingerprint(key);
        return s.hostKeySha256 !== null && presented === s.hostKeySha256;
      },
    }), t.connectMs, abort);
  } catch (e) {
    abort();
    if (presented !== null && presented !== s.hostKeySha256) {
      throw new HostKeyError(s.hostKeySha256 === null
        ? `${location}: refused: no host key is pinned for this server (host_key_sha256), and an unverified server could be anyone collecting the login; the server presented ${presented} — check it with the server's administrator (ssh-keygen -lf on the server's host key) and pin it`
        : `${location}: refused: the server presented host key ${presented}, not the pinned ${s.hostKeySha256} — another machine may be answering for this host; if the server's key really changed, pin the new one`);
    }
    throw fail(`cannot connect and log in as ${s.username}`, e);
  }

  const path = (...parts: string[]) => posix.join(s.folder, ...parts);
  return {
    location,
    mkdir: (sub?: DoneFolder) => op(`cannot create folder ${sub ? path(sub) : s.folder}`, async () => {
      const p = sub ? path(sub) : s.folder;
      if (!(await client.exists(p))) await client.mkdir(p, true);
    }),
    list: () => op(`cannot list ${s.folder}`, async () =>
      (await client.list(s.folder)).filter((f) => f.type === '-' && isInboxXml(f.name)).map((f) => ({ name: f.name, modifiedAt: f.modifyTime ? new Date(f.modifyTime) : null }))),
    read: (name) => op(`cannot read ${path(name)}`, async () => {
      const data = await client.get(path(name));
      // Without a destination the library hands back the content; a stream here would mean the library changed.
      if (typeof data === 'string') return data;
      if (Buffer.isBuffer(data)) return data.toString('utf8');
      throw new Error('the SFTP client returned a stream where the file content was expected');
    }),
    writeAtomic: (name, content) => op(`cannot write ${path(name)}`, async () => {
      try {
        await client.put(fileBytes(content), path(partName(name)));
        await rename(client, path(partName(name)), path(name));
      } catch (e) {
        await client.delete(path(partName(name)), true).catch(() => undefined);
        throw e;
      }
    }),
    move: (name, to) => op(`cannot move ${path(name)} to ${path(to)}/`, () => rename(client, path(name), path(to, name))),
    writeErrors: (name, text) => op(`cannot write ${path('failed', errorsName(name))}`, async () => {
      await client.put(Buffer.from(text, 'utf8'), path('failed', errorsName(name)));
    }),
    async close() {
      await withDeadline(client.end(), t.connectMs, () => undefined).catch(() => undefined);
    },
  };
}

/**
 * SFTP's own rename refuses an existing target; OpenSSH's posix-rename replaces it atomically, like a
 * local rename. Servers without that extension get delete + rename.
 */
async function rename(client: SftpClient, from: string, to: string): Promise<void> {
  try {
    await client.posixRename(from, to);
  } catch (e) {
    if (!/support|extension/i.test((e as Error).message)) throw e;
    await client.delete(to, true);
    await client.rename(from, to);
  }
}
