// Modbus: register maps as data, word ↔ value conversion, RTU framing. Pure, no I/O.
export * from './crc.js';
export * from './registers.js';
export * from './archive.js';
export * from './rtu.js';
export * from './maps/index.js';
