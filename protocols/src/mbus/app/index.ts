// M-Bus application layer (EN 13757-3): variable data structure decoder, RSP_UD encoder, libmbus mapping.
export * from './errors.js';
export * from './types.js';
export { decodeTelegram, decodeUserData, unwrapLongFrame, applicationErrorText } from './decode.js';
export { decodeHeader, decodeStatus } from './header.js';
export { decodeRecords, MAX_DIFE, MAX_VIFE } from './records.js';
export * from './encode.js';
export { lookupVif, allVifs, vifeEffect, RECORD_ERRORS, type VifInfo, type VifTable } from './vif.js';
export { decodeTypeF, decodeTypeG, decodeTypeI, decodeTypeJ, encodeTypeF, encodeTypeG, encodeTypeI, encodeTypeJ } from './datetime.js';
export { decodeManufacturer, encodeManufacturer, parseHex, toHex, readBcd, writeBcd } from './primitives.js';
export { mediumName, mediumCode, mediumLibmbusName } from './medium.js';
export { toLibmbusFormat, toLibmbusRecord, productName, type LibmbusFormat, type LibmbusDataRecord, type LibmbusSlaveInformation } from './libmbus.js';
export * from './fixed.js';
export { genericQuantityName } from './naming.js';
