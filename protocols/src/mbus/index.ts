// M-Bus (EN 13757-2 link layer, EN 13757-3 application layer): pure codec, no I/O.
export * from './link/index.js';
export * from './app/index.js';
