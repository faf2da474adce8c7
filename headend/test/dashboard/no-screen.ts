/**
 * API operations the pages do not call, each with the reason (screen-coverage.test.ts).
 * The list only shrinks: an operation a screen starts calling must leave it.
 */
export const NO_SCREEN: Record<string, string> = {
  'GET /health': 'for machines: load balancers, the Pi watchdog and monitoring read it, not people',
  'GET /health/live': 'for machines: the Kubernetes liveness probe',
  'GET /health/ready': 'for machines: the Kubernetes readiness probe',
  'GET /billing/tariffs/:id': 'the billing settings screen lists every tariff edition with all its fields; one edition by id is for integrations',
  'GET /billing/norms/:id': 'the billing settings screen lists every norm edition with all its fields; one edition by id is for integrations',
  'GET /billing/rules/:id': 'the billing settings screen lists every rules edition with all its fields; one edition by id is for integrations',
  'POST /billing/rules': 'no form yet: a rules edition (ОДН cap, attribution) is a legal setting changed about once a year; the API takes it, the screen lists the editions',
  'GET /imbalance': 'the buildings list and building page show the same stored reports through /overview/*; this is the raw report feed for integrations',
  'GET /buildings/:id/imbalance': 'the building page shows the same stored reports through /buildings/:id/overview; this is the raw report for integrations',
  'GET /meters/:id/validations': 'the meter page shows each reading\'s verdict and reasons from /meters/:id/overview; this is the validator\'s raw history for integrations',
  'POST /meters/:id/estimates': 'estimates (замещающие значения) are made by the validation jobs; by hand only through this API for now',
};
