/** Opens the transport a config names: its local folder, or a connection to its FTP/FTPS/SFTP server. */
import { localFolder } from './local.js';
import { openFtp } from './ftp.js';
import { openSftp } from './sftp.js';
import { DEFAULT_PORT, remoteLocation, type RemoteSettings } from './remote.js';
import { DEFAULT_TIMEOUTS, type ExchangeTransport, type TransportOptions } from './types.js';

export type TransportKind = 'folder' | 'ftp' | 'ftps' | 'sftp';

/** The columns of exchange_configs a transport needs (022_exchange_remote.sql). */
export interface TransportConfig {
  transport: TransportKind; folder: string; host: string | null; port: number | null; username: string | null;
  secret: string | null; secret_kind: 'password' | 'private_key' | null; host_key_sha256: string | null;
}

/** Where a config's files are, for messages and reports; never includes the secret. */
export function describeLocation(c: Pick<TransportConfig, 'transport' | 'folder' | 'host' | 'port' | 'username'>): string {
  if (c.transport === 'folder' || !c.host) return c.folder;
  return remoteLocation(c.transport, c.host, c.port, c.username ?? '', c.folder);
}

/** Connects (remote) and returns the transport; the caller must close() it, whatever happens next. */
export async function openTransport(c: TransportConfig, opts: TransportOptions = {}): Promise<ExchangeTransport> {
  if (c.transport === 'folder') return localFolder(c.folder);
  if (!c.host || !c.username) throw new Error(`${c.transport} exchange needs host and username (config is incomplete)`);
  const s: RemoteSettings = {
    transport: c.transport, host: c.host, port: c.port ?? DEFAULT_PORT[c.transport], username: c.username, folder: c.folder,
    secret: c.secret, secretKind: c.secret_kind, hostKeySha256: c.host_key_sha256, location: describeLocation(c),
  };
  const t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  return c.transport === 'sftp' ? openSftp(s, t) : openFtp(s, t, opts.ftpsCa);
}

export { localFolder } from './local.js';
export { HostKeyError } from './sftp.js';
export { sshFingerprint, normalizeFingerprint, DEFAULT_PORT, type RemoteSettings, type RemoteTransport } from './remote.js';
export { TransportError, scrub, inboxOrder, isInboxXml, DEFAULT_TIMEOUTS, type ExchangeTransport, type ListedFile, type DoneFolder, type TransportTimeouts, type TransportOptions } from './types.js';
