/**
 * OpenAPI texts not written yet (openapi-docs.test.ts). The list only shrinks: the test fails on a gap
 * that is not listed here (a new route without its texts) and on a listed one that is filled now.
 * What is left are the gateway and binding routes of registry/gateway-routes.ts, which is being reworked
 * for gateway commands: their texts go in with that work.
 */
export const KNOWN_GAPS: string[] = [
  'GET /gateways: description',
  'POST /gateways: description',
  'GET /gateways/{id}: summary',
  'GET /gateways/{id}: description',
  'PATCH /gateways/{id}: summary',
  'PATCH /gateways/{id}: description',
  'POST /gateways/{id}/credentials: description',
  'GET /gateways/{id}/bindings: summary',
  'GET /gateways/{id}/bindings: description',
  'POST /gateways/{id}/bindings: description',
  'DELETE /bindings/{id}: description',
  'GET /gateways: query parameter building_id',
  'GET /gateways/{id}: path parameter id',
  'PATCH /gateways/{id}: path parameter id',
  'POST /gateways/{id}/credentials: path parameter id',
  'GET /gateways/{id}/bindings: query parameter all',
  'GET /gateways/{id}/bindings: path parameter id',
  'POST /gateways/{id}/bindings: path parameter id',
];
