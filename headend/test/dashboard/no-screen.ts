/**
 * API operations the operator console does not call, each with the reason (screen-coverage.test.ts).
 * The list only shrinks: an operation a screen starts calling must leave it.
 */
export const NO_SCREEN: Record<string, string> = {
};
