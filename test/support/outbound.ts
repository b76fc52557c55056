import { type OutboundPolicy, outboundPolicy, parseAllowHosts } from '../../src/security/outbound-address.js';

/** A policy that lets a test's channels reach its own receivers on loopback: exactly these URLs' host:port. */
export function allowingOnly(...urls: string[]): OutboundPolicy {
  return outboundPolicy(parseAllowHosts(urls.map((u) => new URL(u).host).join(',')));
}
