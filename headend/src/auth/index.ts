export { Role, Permission, ROLE_PERMISSIONS, can } from './roles.js';
export { hashPassword, verifyPassword, needsRehash, randomSecret, DEFAULT_SCRYPT } from './password.js';
export { createUser, authenticate, residentUserFor, setPasswordHash, NewUser, type UserRow } from './users.js';
export { issueToken, revokeToken, principalFromToken, principalsFromTokens, tokenPrincipals, principalFromApiKey, createApiKey } from './sessions.js';
export { type Principal, requirePermission, requireBuilding, requirePremise, seesBuilding, buildingScopeSql, premiseScopeSql } from './principal.js';
export { newSecret, secretHash } from './secrets.js';
export { type OwnedKind, type Owner, organisationsOf, ownerOf, mayAccess, requireOwned, requireBodyRef, requireSameOrg, gatewayScopeSql, userScopeSql, grantId } from './tenancy.js';
