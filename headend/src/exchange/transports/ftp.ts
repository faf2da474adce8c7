/**
 * FTP and FTPS (explicit AUTH TLS, the server's certificate checked against the system's CAs) via
 * basic-ftp. One control connection per run; every operation has a deadline, after which the
 * connection is closed (basic-ftp cannot cancel a command otherwise).
 */
import { Readable, Writable } from 'node:stream';
import { posix } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Client } from 'basic-ftp';
import { fileBytes, errorsName, isInboxXml, partName, TransportError, withDeadline, type DoneFolder, type ExchangeTransport, type ListedFile, type TransportTimeouts } from './types.js';
import type { RemoteSettings } from './remote.js';

export async function openFtp(s: RemoteSettings, t: TransportTimeouts, ftpsCa?: string): Promise<ExchangeTransport> {
  const location = s.location;
  // basic-ftp's own timeout is per socket inactivity; the deadlines below bound whole operations.
  const client = new Client(t.connectMs);
  const fail = (what: string, e: unknown) => new TransportError(location, what, e, s.secret);
  const op = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await withDeadline(fn(), t.operationMs, () => client.close());
    } catch (e) {
      throw fail(what, e);
    }
  };
  try {
    await withDeadline(client.access({
      host: s.host, port: s.port, user: s.username, password: s.secret ?? '',
      // basic-ftp checks the certificate against `host`; `ca` replaces Node's roots, so they are kept in.
      secure: s.transport === 'ftps', secureOptions: s.transport === 'ftps' && ftpsCa ? { ca: [...rootCertificates, ftpsCa] } : undefined,
    }), t.connectMs, () => client.close());
  } catch (e) {
    client.close();
    throw fail(`cannot connect and log in as ${s.username}`, e);
  }

  const path = (...parts: string[]) => posix.join(s.folder, ...parts);
  return {
    location,
    mkdir: (sub?: DoneFolder) => op(`cannot create folder ${sub ? path(sub) : s.folder}`, () => client.ensureDir(sub ? path(sub) : s.folder)),
    list: () => op(`cannot list ${s.folder}`, async () => {
      const files = (await client.list(s.folder)).filter((f) => f.isFile && isInboxXml(f.name));
      const out: ListedFile[] = [];
      for (const f of files) {
        // A plain LIST has no parseable time; MDTM asks for it (null where the server has no MDTM).
        const modifiedAt = f.modifiedAt ?? await client.lastMod(path(f.name)).catch(() => null);
        out.push({ name: f.name, modifiedAt });
      }
      return out;
    }),
    read: (name) => op(`cannot read ${path(name)}`, async () => {
      const chunks: Buffer[] = [];
      await client.downloadTo(new Writable({ write(chunk: Buffer, _enc, cb) { chunks.push(chunk); cb(); } }), path(name));
      return Buffer.concat(chunks).toString('utf8');
    }),
    writeAtomic: (name, content) => op(`cannot write ${path(name)}`, async () => {
      try {
        await client.uploadFrom(Readable.from([fileBytes(content)]), path(partName(name)));
        await client.rename(path(partName(name)), path(name));
      } catch (e) {
        // Leave no half-written temporary file behind when the connection still allows cleaning up.
        if (!client.closed) await client.remove(path(partName(name)), true).catch(() => undefined);
        throw e;
      }
    }),
    move: (name, to) => op(`cannot move ${path(name)} to ${path(to)}/`, async () => {
      // RNTO onto an existing file is refused by some servers; a local rename replaces it, so do that here too.
      await client.remove(path(to, name), true);
      await client.rename(path(name), path(to, name));
    }),
    writeErrors: (name, text) => op(`cannot write ${path('failed', errorsName(name))}`, async () => {
      await client.uploadFrom(Readable.from([Buffer.from(text, 'utf8')]), path('failed', errorsName(name)));
    }),
    async close() {
      client.close();
    },
  };
}
