export { JobRunner, type JobDefinition, type JobContext, type JobRunnerOptions, type Schedule, type QueueDepths, type LastRuns } from './job-runner.js';
export { createRedisConnection, redactUrl } from './redis-connection.js';
