// @amr/simulators: meters on real serial lines (pty pairs) and TCP, and a whole building with known truth.
export * from './transport/timing.js';
export * from './transport/pty.js';
export * from './transport/line.js';
export * from './faults.js';
export * from './modbus/bus.js';
export * from './modbus/tv7.js';
export * from './pulse/bus.js';
export * from './mbus/segment.js';
export * from './mbus/records.js';
export * from './clock/sim-clock.js';
export * from './building/config.js';
export * from './building/consumption.js';
export * from './building/meters.js';
export * from './building/truth.js';
export * from './building/building.js';
export * from './building/heat.js';
