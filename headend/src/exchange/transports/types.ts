/**
 * The seam between an exchange run and where its files live: a local folder, an FTP/FTPS server or
 * an SFTP server. A run opens one transport, uses it, and always closes it. Every name is a plain
 * file name inside the config's folder (or its processed/ and failed/ subfolders), never a path.
 */

/** An inbox entry: a plain *.xml file. `modifiedAt` is null when the server does not say. */
export interface ListedFile { name: string; modifiedAt: Date | null }

export type DoneFolder = 'processed' | 'failed';

export interface ExchangeTransport {
  /** Where the files are, for messages and reports: a local path or `sftp://user@host:22/path` (never a secret). */
  readonly location: string;
  /** Creates the folder (or its subfolder) with any missing parents; an existing one is fine. */
  mkdir(sub?: DoneFolder): Promise<void>;
  /** The inbox: plain, non-hidden *.xml files directly in the folder (any order; see inboxOrder). */
  list(): Promise<ListedFile[]>;
  read(name: string): Promise<string>;
  /** Writes under a hidden temporary name, then renames, so a reader never sees half a file. */
  writeAtomic(name: string, content: string | Buffer): Promise<void>;
  /** Moves an inbox file into processed/ or failed/, replacing a file of the same name there. */
  move(name: string, to: DoneFolder): Promise<void>;
  /** failed/<name>.errors.txt */
  writeErrors(name: string, text: string): Promise<void>;
  /** Ends the connection; never throws (a run's result does not depend on a clean goodbye). */
  close(): Promise<void>;
}

export interface TransportTimeouts {
  /** Connecting and logging in. */
  connectMs: number;
  /** Any one operation (listing, one transfer, a rename) after that. */
  operationMs: number;
}

/** How a run connects: deadlines, and certificate authorities FTPS trusts besides the system's. */
export interface TransportOptions {
  timeouts?: Partial<TransportTimeouts>;
  /** PEM certificate(s) of a private CA that signs partners' FTPS certificates (added to Node's roots, not replacing them). */
  ftpsCa?: string;
}

export const DEFAULT_TIMEOUTS: TransportTimeouts = { connectMs: 20_000, operationMs: 120_000 };

/** Today's inbox rule: *.xml (any case), not hidden (".name.part" files being written are hidden). */
export function isInboxXml(name: string): boolean {
  return name.toLowerCase().endsWith('.xml') && !name.startsWith('.');
}

/** Name order, as the folder exchange always had (senders put a time stamp in the name). */
export function inboxOrder(files: ListedFile[]): ListedFile[] {
  return [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The bytes of a file to write: text as UTF-8, documents (PDF, Excel) as they are. */
export const fileBytes = (content: string | Buffer): Buffer => (typeof content === 'string' ? Buffer.from(content, 'utf8') : content);

export const partName = (name: string) => `.${name}.part`;
export const errorsName = (name: string) => `${name}.errors.txt`;

/**
 * A remote failure, its message naming the server, the folder or file and the operation; the
 * secret is cut out of whatever the library or the server said, in case either echoed it.
 */
export class TransportError extends Error {
  constructor(location: string, what: string, cause: unknown, secret?: string | null) {
    super(`${location}: ${what}: ${scrub(errorText(cause), secret)}`);
    this.name = 'TransportError';
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

export function scrub(text: string, secret: string | null | undefined): string {
  if (!secret) return text;
  let out = text;
  // Each line too, so a private key's lines are cut out wherever one of them shows up.
  for (const s of [secret, ...secret.split(/\r?\n/)].map((x) => x.trim()).filter((x) => x.length >= 4)) out = out.split(s).join('***');
  return out;
}

/** Runs one operation with a deadline; on expiry `abort` runs (it closes the connection, which ends the operation). */
export async function withDeadline<T>(p: Promise<T>, ms: number, abort: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort();
      reject(new Error(`timed out after ${ms / 1000} s`));
    }, ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}
