/**
 * The API from the resident's browser (web-shared/api.js): same origin, bearer token in sessionStorage
 * (gone when the tab closes — residents often use a shared family phone). A 401 with a token means the
 * session ended: the page hears 'amr:signed-out' with { expired: true }.
 */
import { ApiError, createApiClient } from '../web-shared/api.js';

export { ApiError };
export const { token, setToken, api } = createApiClient({ tokenKey: 'amr.resident.token', endedEvent: 'amr:signed-out', endedDetail: { expired: true } });
