// Which HTTP headers cross which hop of a call, for every process that forwards one: the control plane (client
// ↔ function URL), the agent (agent ↔ in-container shim). One list each, so the hops cannot disagree.

/** Headers of one connection only (RFC 9110 §7.6.1), plus the framing our hops set themselves. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'transfer-encoding', 'trailer', 'upgrade', 'content-length']);

/** Never passed from a client to a function: the hop's headers, the platform's credentials, and the host. */
export const STRIPPED_REQUEST: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'authorization', 'cookie', 'x-api-key', 'x-timestamp', 'x-signature', 'proxy-authorization', 'te', 'host']);

/**
 * Never passed from a function to its client: the hop's headers, ours, and cookies — function URLs share the
 * dashboard's origin, so a function must not set (or overwrite) a cookie there.
 */
export const STRIPPED_RESPONSE: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'x-request-id', 'cpub-execution-id', 'server-timing', 'set-cookie', 'set-cookie2']);

/** Headers the platform uses between agent and shim (`cpub-…`): never the function's. */
export const isPlatformHeader = (lowerName: string): boolean => lowerName.startsWith('cpub-');
