// Destinations: where the outcome of a function's async calls is POSTed (onSuccess, onFailure), signed like API-key
// calls — X-Cpub-Timestamp (unix seconds) and X-Cpub-Signature = base64 HMAC-SHA256(secret, timestamp + ":" + body)
// — with the function's destination secret.
//
// A destination is a URL on the internet: never loopback, link-local, private, multicast or otherwise special
// addresses (the control plane must not become a way into its own network), unless the operator allows them with
// CPUB_DESTINATION_ALLOW (addresses, CIDRs or host names). Host names are checked as they are resolved for the
// connection itself, so a name that resolves elsewhere later (DNS rebinding) is caught too.
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { createHmac, randomBytes } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import type { Dispatcher } from 'undici';

export const DestinationsSchema = z
  .object({
    onSuccess: z.string().max(2048).nullable().optional().openapi({ description: 'URL the outcome of a call that succeeded is POSTed to' }),
    onFailure: z.string().max(2048).nullable().optional().openapi({ description: 'URL the outcome of a call that failed after its last attempt (a dead letter) is POSTed to' }),
  })
  .strict();

export interface Destinations {
  onSuccess: string | null;
  onFailure: string | null;
}

export function storedDestinations(text: string | null): Destinations {
  const d = text ? (JSON.parse(text) as Partial<Destinations>) : {};
  return { onSuccess: d.onSuccess ?? null, onFailure: d.onFailure ?? null };
}

const DENIED_V4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4'];
const DENIED_V6 = ['::/127', 'fc00::/7', 'fe80::/10', 'ff00::/8', '64:ff9b::/96', '100::/64', '2001:db8::/32'];

function blockList(cidrs: string[], family: 'ipv4' | 'ipv6', into = new BlockList()): BlockList {
  for (const c of cidrs) {
    const [net, bits] = c.split('/');
    into.addSubnet(net!, Number(bits), family);
  }
  return into;
}

/** Parses CPUB_DESTINATION_ALLOW: addresses, CIDRs and host names, comma-separated. Throws on an entry that is none. */
export function parseAllow(list: string[]): { addresses: BlockList; hosts: Set<string> } {
  const addresses = new BlockList();
  const hosts = new Set<string>();
  for (const raw of list) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    const [net, bits] = entry.split('/');
    const family = isIP(net!);
    if (family) {
      const max = family === 4 ? 32 : 128;
      const n = bits === undefined ? max : Number(bits);
      if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${raw}: not a CIDR`);
      addresses.addSubnet(net!, n, family === 4 ? 'ipv4' : 'ipv6');
    } else if (bits === undefined && /^[a-z0-9.-]+$/.test(entry)) hosts.add(entry);
    else throw new Error(`${raw}: not an address, a CIDR or a host name`);
  }
  return { addresses, hosts };
}

export class AddressGuard {
  private readonly denied = blockList(DENIED_V6, 'ipv6', blockList(DENIED_V4, 'ipv4'));
  private readonly allow: { addresses: BlockList; hosts: Set<string> };

  constructor(allow: string[] = []) {
    this.allow = parseAllow(allow);
  }

  /** Why the address may not be reached (a sentence), or undefined when it may. */
  addressError(address: string): string | undefined {
    let a = address.toLowerCase();
    let family = isIP(a);
    if (!family) return `${address} is not an address`;
    // An IPv4 address written as IPv6 (::ffff:10.0.0.1) is the IPv4 address.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
    if (mapped) [a, family] = [mapped[1]!, 4];
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.allow.addresses.check(a, type)) return undefined;
    if (this.denied.check(a, type)) return `${address} is a loopback, link-local, private or reserved address (an operator allows such destinations with CPUB_DESTINATION_ALLOW)`;
    return undefined;
  }

  /** Why a destination URL is refused as it is set (its syntax, and its address when it names one); undefined when fine. */
  urlError(url: string): string | undefined {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return `${url} is not a URL`;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${url}: a destination is an http:// or https:// URL`;
    if (u.username || u.password) return `${url}: no credentials in a destination URL (the calls are signed)`;
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) return this.addressError(host);
    return undefined;
  }

  hostAllowed(host: string): boolean {
    return this.allow.hosts.has(host.toLowerCase());
  }

  /** A `lookup` for the connection: resolves, then refuses an address the guard does not allow. */
  readonly lookup = (hostname: string, options: object, cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return cb(err, '', 0);
      const list = addresses as LookupAddress[];
      if (!this.hostAllowed(hostname)) {
        for (const a of list) {
          const why = this.addressError(a.address);
          if (why) return cb(Object.assign(new Error(`${hostname} resolves to ${why}`), { code: 'EDESTINATION' }), '', 0);
        }
      }
      if ((options as { all?: boolean }).all) return cb(null, list);
      cb(null, list[0]!.address, list[0]!.family);
    });
  };
}

export function newDestinationSecret(): string {
  return `cpds_${randomBytes(32).toString('base64url')}`;
}

/** The headers that sign a delivery's body. */
export function signatureHeaders(secret: string, body: Buffer, nowMs = Date.now()): Record<string, string> {
  const ts = String(Math.floor(nowMs / 1000));
  const sig = createHmac('sha256', secret).update(`${ts}:`).update(body).digest('base64');
  return { 'x-cpub-timestamp': ts, 'x-cpub-signature': sig };
}

/** The wait before attempt `attempts + 1` of a delivery: `baseMs` doubling per attempt up to `maxMs`, jittered (50–100 %). */
export const backoffMs = (attempts: number, baseMs: number, maxMs: number): number => Math.round(Math.min(maxMs, baseMs * 2 ** (attempts - 1)) * (0.5 + Math.random() / 2));

/** undici, loaded by the first delivery: ≈ 0.1 s of every server's start otherwise, for servers that may never deliver. */
const loadUndici = () => import('undici');
let undiciModule: ReturnType<typeof loadUndici> | undefined;
const undici = () => (undiciModule ??= loadUndici());

/** The connections of a sender of deliveries (destinations, alert channels): made on its first delivery. */
export interface DeliveryAgent {
  get(): Promise<Dispatcher>;
  /** Closes the connections, if any were made. */
  close(): Promise<void>;
}

/** A DeliveryAgent whose connections resolve names with the guard's `lookup` and time out after `timeoutMs`. */
export function deliveryAgent(guard: AddressGuard, timeoutMs: number): DeliveryAgent {
  let agent: Promise<Dispatcher> | undefined;
  return {
    get: () => (agent ??= undici().then(({ Agent }) => new Agent({ connect: { lookup: guard.lookup as never, timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }))),
    close: async () => {
      if (agent) await agent.then((a) => a.close()).catch(() => {});
    },
  };
}

/**
 * One POST of a delivery (destinations, alert channels) through `agent` — whose connections resolve names with the
 * guard's `lookup` — refusing a literal address the guard does not allow first; no redirects followed. The error (a
 * sentence) or null when a 2xx answered within `timeoutMs`.
 */
export async function postDelivery(guard: AddressGuard, agent: DeliveryAgent, url: string, body: Buffer, headers: Record<string, string>, timeoutMs: number, what = 'the destination'): Promise<string | null> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const refused = guard.hostAllowed(host) ? undefined : guard.urlError(url);
  if (refused) return refused;
  try {
    const { fetch } = await undici();
    const res = await fetch(url, { method: 'POST', body, redirect: 'manual', dispatcher: await agent.get(), signal: AbortSignal.timeout(timeoutMs), headers: { 'content-type': 'application/json', ...headers } });
    await res.body?.cancel().catch(() => {});
    return res.status >= 200 && res.status <= 299 ? null : `${what} answered ${res.status}`;
  } catch (err) {
    const e = err as Error & { cause?: Error };
    return e.cause?.message ?? e.message;
  }
}
