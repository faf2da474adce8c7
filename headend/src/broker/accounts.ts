/**
 * Gateway accounts on a broker that checks credentials itself (Mosquitto's dynamic security): what the
 * registry tells it when a gateway is created, its secret rotated, or it is disabled or enabled again.
 * The embedded broker and the EMQX hooks read the registry on every CONNECT, so they need no telling.
 *
 * Called inside the registry's transaction, before it commits: a broker that did not take the change
 * makes the change fail (rolled back, the caller told to retry), so no password is handed out that
 * nothing accepts and no disabled gateway stays able to connect.
 */
export interface GatewayAccounts {
  /** A gateway was created or its secret rotated: the broker takes `password` (and ends sessions with the old one). */
  secretIssued(gatewayId: string, password: string, status: string): Promise<void>;
  /** A gateway was disabled or enabled again. */
  statusChanged(gatewayId: string, status: string): Promise<void>;
}

/** For brokers that read the registry themselves. */
export const REGISTRY_READ_BY_BROKER: GatewayAccounts = {
  secretIssued: async () => undefined,
  statusChanged: async () => undefined,
};
