/**
 * This head-end process's name among replicas: host, process id and a random part, so a replica
 * restarted under the same pid (a container's pid 1) is still a new holder and never inherits the
 * lease its predecessor died with — that one expires.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

export function newInstanceId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}
