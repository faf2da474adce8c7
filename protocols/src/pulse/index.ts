// Pulse-counter serial protocol (spec: README.md in this folder). Pure, no I/O.
export * from './frame.js';
