/**
 * Where an organisation's local exchange folders may be: inside EXCHANGE_ROOT/org-<id>/, and reached
 * without a symbolic link. One organisation's billing user cannot point an import at another's inbox
 * (its files would be read, moved to failed/ and its serials shown), nor escape the root through a
 * link planted inside it. `placeFolder` is pure; `findSymlink` looks at the disk.
 */
import { lstat } from 'node:fs/promises';
import { posix } from 'node:path';

/** The folder every local exchange folder of an organisation lies in. */
export function orgFolder(root: string, orgId: number): string {
  return posix.join(root, `org-${orgId}`);
}

/**
 * The absolute folder a config's `folder` names: a relative one is taken inside the organisation's
 * folder; an absolute one must lie inside it. Returns the folder or the problem, for a 400.
 */
export function placeFolder(root: string, orgId: number, folder: string): { folder: string } | { problem: string } {
  const base = orgFolder(root, orgId);
  if (folder.split('/').includes('..')) return { problem: 'a folder without ".." segments' };
  const abs = posix.normalize(folder.startsWith('/') ? folder : posix.join(base, folder)).replace(/\/+$/, '') || '/';
  if (abs !== base && !abs.startsWith(`${base}/`)) {
    return { problem: `folder must be inside this organisation's folder ${base} (under EXCHANGE_ROOT (${root})); give a path relative to it, e.g. "billing/out"` };
  }
  return { folder: abs };
}

/**
 * The first component of `folder` below `root` that is a symbolic link, or null. Components that do
 * not exist yet are fine (the export creates them as plain folders). The root itself is the
 * operator's choice and is not looked at.
 */
export async function findSymlink(root: string, folder: string): Promise<string | null> {
  const rel = posix.relative(root, folder);
  if (rel.startsWith('..')) return folder;
  let at = root;
  for (const part of rel.split('/').filter(Boolean)) {
    at = posix.join(at, part);
    try {
      if ((await lstat(at)).isSymbolicLink()) return at;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }
  return null;
}
