/** Commands to gateways over MQTT (poll now, config, scan, restart) and their stored replies. */
export { openCommandChannel, type CommandChannel, type CommandChannelOptions } from './channel.js';
export { createCommandService, redactArgs, type CommandSender, type CommandService } from './service.js';
export type { CommandRecord, CommandStatus } from './store.js';
