/**
 * Writing manual readings and corrections. Nothing is overwritten: a value for an instant that already
 * has one becomes the next version, carrying who wrote it and why. Callers pass the transaction handle.
 */
import type { Resource } from '@amr/protocols';
import { registerQuantity, type KnownQuantity } from '@amr/protocols';

/** The register consumption is computed from, per resource: the one rule in protocols (registerQuantity), under its old name. */
export function primaryQuantity(resource: Resource): KnownQuantity {
  return registerQuantity(resource);
}

/** The write lives in the readings module (the only writer of the readings table). */
export { insertVersion as insertReadingVersion, type NewVersion as ManualReading, type StoredReading } from '../../readings/write-store.js';
