export { audit, auditMany, SYSTEM_ACTOR, type Actor, type AuditEntry, type AuditRow } from './audit.js';
