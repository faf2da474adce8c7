/** Liveness and readiness of the head-end (probes for Kubernetes, docker-compose, load balancers). */
export { checkReadiness, databaseCheck, ReadinessReport, type ReadinessCheck } from './readiness.js';
export { startLiveness, type Liveness } from './live.js';
