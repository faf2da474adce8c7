/**
 * A folder on the head-end's own disk (the exchange as it always was): renames are atomic within
 * one file system, and the API keeps the folder under EXCHANGE_ROOT.
 */
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorsName, isInboxXml, partName, type DoneFolder, type ExchangeTransport, type ListedFile } from './types.js';

export function localFolder(folder: string): ExchangeTransport {
  return {
    location: folder,
    async mkdir(sub?: DoneFolder) {
      await mkdir(sub ? join(folder, sub) : folder, { recursive: true });
    },
    async list(): Promise<ListedFile[]> {
      const names = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isFile() && isInboxXml(e.name)).map((e) => e.name);
      return Promise.all(names.map(async (name) => ({ name, modifiedAt: (await stat(join(folder, name))).mtime })));
    },
    read: (name) => readFile(join(folder, name), 'utf8'),
    async writeAtomic(name, content) {
      await writeFile(join(folder, partName(name)), content);
      await rename(join(folder, partName(name)), join(folder, name));
    },
    move: (name, to) => rename(join(folder, name), join(folder, to, name)),
    writeErrors: (name, text) => writeFile(join(folder, 'failed', errorsName(name)), text, 'utf8'),
    async close() {},
  };
}
