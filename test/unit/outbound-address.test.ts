import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { webhookChannel } from '../../src/channels/webhook.js';
import {
  BLOCKED_RANGES,
  isBlockedAddress,
  outboundPolicy,
  parseAllowHosts,
} from '../../src/security/outbound-address.js';
import { outboundMessage } from '../support/outbound-message.js';

const none = outboundPolicy([]);
/** DNS as a test states it: each name resolves to the addresses given. */
const resolving = (answers: Record<string, string[]>, allow = '') =>
  outboundPolicy(parseAllowHosts(allow), async (host) => {
    const found = answers[host];
    if (!found) throw new Error(`ENOTFOUND ${host}`);
    return found;
  });

describe('which URLs the worker may call', () => {
  it.each([
    'http://127.0.0.1:5432/',
    'http://127.255.0.9/',
    'http://10.0.0.1/hook',
    'http://172.16.0.1/hook',
    'http://172.31.255.255/',
    'http://192.168.1.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://224.0.0.1/',
    'http://[::1]:8080/hook',
    'http://[::]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[ff02::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://localhost:7233/',
    'http://LOCALHOST./',
    'http://api.localhost/',
    // Shorthands the URL parser turns into 127.0.0.1.
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://127.1/',
  ])('when a URL points at %s, then it is refused', (url) => {
    expect(none.refusal(url)).toEqual(expect.any(String));
  });

  it.each([
    'https://hooks.bank.example/matterflow',
    'http://8.8.8.8/',
    'http://172.32.0.1/',
    'http://100.128.0.1/',
    'http://[2001:db8::1]/',
    'https://prod-00.westeurope.logic.azure.com/workflows/abc',
  ])('when a URL points at %s, then it may be called', (url) => {
    expect(none.refusal(url)).toBeNull();
  });

  it('when a URL is not http(s) or not a URL, then it is refused', () => {
    expect(none.refusal('ftp://files.example/x')).toMatch(/http/);
    expect(none.refusal('not a url')).toMatch(/not a URL/);
  });

  it('when a host:port is allowed, then exactly that port is, and a bare host allows every port', () => {
    const exact = outboundPolicy(parseAllowHosts('127.0.0.1:8080,[::1]:80,hooks.internal'));
    expect(exact.refusal('http://127.0.0.1:8080/hook')).toBeNull();
    expect(exact.refusal('http://127.0.0.1:5432/')).not.toBeNull();
    expect(exact.refusal('http://[::1]/')).toBeNull();
    expect(exact.refusal('https://[::1]/')).not.toBeNull();
    const host = outboundPolicy(parseAllowHosts('10.0.0.7'));
    expect(host.refusal('http://10.0.0.7:1/')).toBeNull();
    expect(host.refusal('https://10.0.0.7/')).toBeNull();
    expect(host.refusal('http://10.0.0.8/')).not.toBeNull();
  });

  it('when an allow-list entry is not host[:port], then it is refused', () => {
    for (const bad of ['http://x/', 'x:0', 'x:65536', 'a b', 'x/y', 'u@x']) {
      expect(() => parseAllowHosts(bad), bad).toThrow();
    }
  });

  it('when a name resolves into a blocked range at send time, then it is refused unless allowed', async () => {
    const dns = { 'rebind.example': ['93.184.216.34', '10.0.0.5'], 'ok.example': ['93.184.216.34'] };
    expect(await resolving(dns).refusalAtSend('https://rebind.example/x')).toMatch(/10\.0\.0\.5/);
    expect(await resolving(dns).refusalAtSend('https://ok.example/x')).toBeNull();
    expect(await resolving(dns, 'rebind.example').refusalAtSend('https://rebind.example/x')).toBeNull();
    expect(await resolving(dns).refusalAtSend('http://127.0.0.1/')).not.toBeNull();
    // Unresolvable: the request itself fails and says so.
    expect(await resolving(dns).refusalAtSend('https://nowhere.example/')).toBeNull();
  });

  it('when a webhook points at a refused address, then the send fails for good without a request', async () => {
    const channel = webhookChannel({ defaultSecret: 's'.repeat(16), timeoutMs: 500, outbound: none });
    const result = await channel.send(
      { type: 'webhook', address: 'http://127.0.0.1:1/hook', settings: {} },
      outboundMessage(),
    );
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(result.error).toMatch(/address not allowed/);
  });
});

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const v6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16)).join(':'));

type Range = (typeof BLOCKED_RANGES)[number];

/** An address as a number, by plain arithmetic, to check BlockList against. */
function toInt(ip: string, type: Range['type']): bigint {
  if (type === 'ipv4') return ip.split('.').reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, x) => (acc << 16n) | BigInt(`0x${x}`), 0n);
}

const hostBits = (r: Range) => (r.type === 'ipv4' ? 32n : 128n) - BigInt(r.prefix);

function inRange(ip: string, r: Range): boolean {
  return toInt(ip, r.type) >> hostBits(r) === toInt(r.network, r.type) >> hostBits(r);
}

/** `ip` with its leading bits replaced by the range's network: an address drawn inside the range. */
function withPrefix(ip: string, r: Range): string {
  const mask = (1n << hostBits(r)) - 1n;
  const n = ((toInt(r.network, r.type) >> hostBits(r)) << hostBits(r)) | (toInt(ip, r.type) & mask);
  if (r.type === 'ipv4') return [24n, 16n, 8n, 0n].map((sh) => String((n >> sh) & 255n)).join('.');
  return Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - i * 16)) & 0xffffn).toString(16)).join(':');
}

describe('the blocked ranges, as a property', () => {
  it('any IPv4 address inside a blocked range is refused, and any outside them may be called', () => {
    const ranges = BLOCKED_RANGES.filter((r) => r.type === 'ipv4');
    fc.assert(
      fc.property(v4, (ip) => {
        const inside = ranges.some((r) => inRange(ip, r));
        expect(isBlockedAddress(ip)).toBe(inside);
        expect(none.refusal(`http://${ip}/`) !== null).toBe(inside);
        // The same address written as IPv4-mapped IPv6 is judged the same.
        expect(none.refusal(`http://[::ffff:${ip}]/`) !== null).toBe(inside);
      }),
      { numRuns: 2000 },
    );
  });

  it('any address drawn inside a blocked range is refused', () => {
    const inside = fc
      .constantFrom(...BLOCKED_RANGES)
      .chain((r) => (r.type === 'ipv4' ? v4 : v6).map((ip) => ({ r, ip })));
    fc.assert(
      fc.property(inside, ({ r, ip }) => {
        // Keep the range's own prefix, take the rest of the bits from the drawn address.
        const own = withPrefix(ip, r);
        expect(isBlockedAddress(own), `${own} in ${r.network}/${r.prefix}`).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('any global unicast IPv6 address outside the blocked ranges may be called', () => {
    const ranges = BLOCKED_RANGES.filter((r) => r.type === 'ipv6');
    const global = v6.filter((ip) => /^[23]/.test(ip.padStart(4, '0')) && ip.split(':')[0]!.length === 4);
    fc.assert(
      fc.property(global, (ip) => {
        expect(ranges.some((r) => inRange(ip, r))).toBe(false);
        expect(none.refusal(`http://[${ip}]/`)).toBeNull();
      }),
      { numRuns: 1000 },
    );
  });
});
