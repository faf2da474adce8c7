/** Start-up of a whole head-end and its configuration-driven policies. */
export { startHeadend, type Headend, type HeadendOptions } from './headend.js';
export { wallClock, fixedClock, clockFrom, type Clock } from '../util/clock.js';
export { applyRetention, refreshAggregates, runPolicyJobs } from './policies.js';
