/** What the FTP and SFTP transports need from a config, and the SSH host key fingerprint they pin. */
import { createHash } from 'node:crypto';

export type RemoteTransport = 'ftp' | 'ftps' | 'sftp';

export interface RemoteSettings {
  transport: RemoteTransport;
  host: string;
  port: number;
  username: string;
  /** Absolute directory on the server. */
  folder: string;
  secret: string | null;
  secretKind: 'password' | 'private_key' | null;
  /** SFTP: "SHA256:…" as `ssh-keygen -lf` prints it; null = nothing pinned, so every key is refused. */
  hostKeySha256: string | null;
  /** For messages: `sftp://user@host:22/path` (no secret). */
  location: string;
}

export const DEFAULT_PORT: Record<RemoteTransport, number> = { ftp: 21, ftps: 21, sftp: 22 };

export function remoteLocation(transport: RemoteTransport, host: string, port: number | null, username: string, folder: string): string {
  return `${transport}://${username}@${host.includes(':') ? `[${host}]` : host}:${port ?? DEFAULT_PORT[transport]}${folder}`;
}

/** OpenSSH's fingerprint of a host key blob: SHA-256, base64 without padding. */
export function sshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Accepts the fingerprint with or without "SHA256:" and with or without base64 padding; null if it is not one. */
export function normalizeFingerprint(s: string): string | null {
  const m = /^(?:SHA256:)?([A-Za-z0-9+/]{43})=?$/.exec(s.trim());
  return m ? `SHA256:${m[1]}` : null;
}
