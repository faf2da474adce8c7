/** Head-end configuration (environment variables validated by zod). */
export { ConfigSchema, ConfigObject, CONFIG_KEYS, type Config } from './schema.js';
export { loadConfig, ConfigError } from './load.js';
export { configHelp, configVariables, type ConfigVariable } from './help.js';
