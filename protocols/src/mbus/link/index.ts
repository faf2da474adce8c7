// M-Bus link layer (EN 13757-2): frames, C/CI fields, secondary addressing, stream parser.
export * from './frame.js';
export * from './control.js';
export * from './secondary.js';
export * from './builders.js';
export * from './stream.js';
