/** Replica leases: work that exactly one head-end replica does at a time (store.ts). */
export { takeLease, releaseLease, leaseHolder, type Lease } from './store.js';
export { newInstanceId } from './instance.js';
