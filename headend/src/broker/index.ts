/** MQTT side of the head-end: embedded aedes broker or external-broker subscriber, credentials, ACL. */
export { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from './embedded.js';
export { startExternalSubscriber, type ExternalSubscriber, type ExternalSubscriberOptions } from './external.js';
export { hashSecret, verifySecret } from './credentials.js';
export { gatewayMayPublish, gatewayMaySubscribe, gatewayOwnsClientId, clientIdOwner } from './acl.js';
export { createAuthenticator, AUTH_OUTCOMES, type Authenticator, type AuthResult, type AuthOutcome } from './authenticate.js';
