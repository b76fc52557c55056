import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Ranges a URL given through the API may not reach: the deployment's own machine and network, where
 * the database, Temporal and cloud metadata services answer anyone who asks from inside.
 */
export const BLOCKED_RANGES: readonly { network: string; prefix: number; type: 'ipv4' | 'ipv6' }[] = [
  { network: '0.0.0.0', prefix: 8, type: 'ipv4' },
  { network: '10.0.0.0', prefix: 8, type: 'ipv4' },
  { network: '100.64.0.0', prefix: 10, type: 'ipv4' },
  { network: '127.0.0.0', prefix: 8, type: 'ipv4' },
  { network: '169.254.0.0', prefix: 16, type: 'ipv4' },
  { network: '172.16.0.0', prefix: 12, type: 'ipv4' },
  { network: '192.168.0.0', prefix: 16, type: 'ipv4' },
  // Multicast, then the reserved block that ends in the broadcast address.
  { network: '224.0.0.0', prefix: 4, type: 'ipv4' },
  { network: '240.0.0.0', prefix: 4, type: 'ipv4' },
  { network: '::', prefix: 128, type: 'ipv6' },
  { network: '::1', prefix: 128, type: 'ipv6' },
  { network: 'fc00::', prefix: 7, type: 'ipv6' },
  { network: 'fe80::', prefix: 10, type: 'ipv6' },
  { network: 'ff00::', prefix: 8, type: 'ipv6' },
];

// IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) are checked against the IPv4 rules by BlockList itself.
const blocked = new BlockList();
for (const r of BLOCKED_RANGES) blocked.addSubnet(r.network, r.prefix, r.type);

/** Whether an IP address (v4, or v6 without brackets) lies in a blocked range. */
export function isBlockedAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) throw new Error(`not an IP address: ${ip}`);
  return blocked.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

export class AllowHostError extends Error {}

/** One allow-list entry: a host as the URL parser writes it, and a port, or null for any port. */
export interface AllowedHost {
  host: string;
  port: number | null;
}

const ENTRY = /^(\[[^\]]+\]|[^:[\]/?#@\s]+)(?::(\d{1,5}))?$/;

/** `host[:port]` entries, comma-separated; hosts are normalised as URLs normalise them, so they compare. */
export function parseAllowHosts(text: string): AllowedHost[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry) => {
      const match = ENTRY.exec(entry);
      const port = match?.[2] === undefined ? null : Number(match[2]);
      let host: string | undefined;
      try {
        host = match ? new URL(`http://${match[1]}/`).hostname : undefined;
      } catch {
        host = undefined;
      }
      if (!host || (port !== null && (port < 1 || port > 65535))) {
        throw new AllowHostError(`"${entry}" is not host or host:port`);
      }
      return { host, port };
    });
}

const bare = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1');

function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

export interface OutboundPolicy {
  /** Why `url` may not be called, judged from the URL alone (no DNS); null when it may. */
  refusal(url: string): string | null;
  /** As `refusal`, and a host name is resolved: any address of it in a blocked range refuses it. */
  refusalAtSend(url: string): Promise<string | null>;
}

/** Decides which URLs given through the API may be called; `allowHosts` are the operator's exceptions. */
export function outboundPolicy(
  allowHosts: readonly AllowedHost[],
  resolve: (host: string) => Promise<string[]> = resolveAll,
): OutboundPolicy {
  function parsed(text: string): URL | string {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return 'it is not a URL';
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https may be called';
    return url;
  }
  const allowed = (url: URL) =>
    allowHosts.some((a) => a.host === url.hostname && (a.port === null || a.port === effectivePort(url)));

  /** The verdict from the URL alone, or 'resolve' for a host name that only DNS can judge. */
  function judge(text: string): string | null | { resolve: string } {
    const url = parsed(text);
    if (typeof url === 'string') return url;
    if (allowed(url)) return null;
    const host = bare(url.hostname);
    if (isIP(host)) {
      return isBlockedAddress(host) ? `${host} is a loopback, private, link-local or reserved address` : null;
    }
    const name = host.replace(/\.$/, '');
    if (name === 'localhost' || name.endsWith('.localhost')) return `${name} is this machine`;
    return { resolve: name };
  }

  return {
    refusal(text) {
      const verdict = judge(text);
      return typeof verdict === 'object' && verdict !== null ? null : verdict;
    },
    async refusalAtSend(text) {
      const verdict = judge(text);
      if (typeof verdict !== 'object' || verdict === null) return verdict;
      let addresses: string[];
      try {
        addresses = await resolve(verdict.resolve);
      } catch {
        // A name that does not resolve cannot be reached either; the request itself reports that.
        return null;
      }
      const inside = addresses.find(isBlockedAddress);
      return inside
        ? `${verdict.resolve} resolves to ${inside}, a loopback, private or reserved address`
        : null;
    },
  };
}

async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}
