// @amr/gateway: the edge agent's public API (the CLI is gateway/src/cli/amr-gateway.ts).
export * from './config/index.js';
export * from './outbox/index.js';
export * from './mqtt/index.js';
export * from './bus/index.js';
export * from './drivers/types.js';
export { createDriver, type DriverHooks } from './drivers/factory.js';
export { MbusNativeDriver } from './drivers/mbus-native.js';
export { MbusLibmbusDriver, libmbusToTelegram } from './drivers/mbus-libmbus.js';
export { ModbusDriver } from './drivers/modbus.js';
export { PulseDriver } from './drivers/pulse.js';
export * from './profiles/index.js';
export * from './runtime/index.js';
export { GatewayMetrics } from './ops/metrics.js';
export { RawLog } from './ops/rawlog.js';
