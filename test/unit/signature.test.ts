import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelTarget, OutboundMessage } from '../../src/channels/channel.js';
import { webhookBody, webhookChannel } from '../../src/channels/webhook.js';
import { outboundPolicy, parseAllowHosts } from '../../src/security/outbound-address.js';
import { SIGNATURE_HEADER, signBody, verifyBody } from '../../src/security/signature.js';

const SECRET = 'webhook-secret-0123456789';
const OTHER = 'other-secret-9876543210';

describe('signBody / verifyBody', () => {
  it('when a body is signed, then the header is sha256=<64 lowercase hex>', () => {
    expect(signBody(SECRET, '{"a":1}')).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('when a body is signed and verified with the same secret, then it verifies', () => {
    const body = JSON.stringify({ hello: 'wörld', n: 1 });
    expect(verifyBody(SECRET, body, signBody(SECRET, body))).toBe(true);
  });

  it('when the body is given as a Buffer of the same bytes, then the signature is the same', () => {
    const body = '{"emoji":"🦊"}';
    expect(signBody(SECRET, Buffer.from(body, 'utf8'))).toBe(signBody(SECRET, body));
    expect(verifyBody(SECRET, Buffer.from(body), signBody(SECRET, body))).toBe(true);
  });

  it('when the body differs, then verification fails', () => {
    expect(verifyBody(SECRET, '{"a":2}', signBody(SECRET, '{"a":1}'))).toBe(false);
    expect(verifyBody(SECRET, '{"a":1} ', signBody(SECRET, '{"a":1}'))).toBe(false);
  });

  it('when the secret differs, then verification fails', () => {
    expect(verifyBody(OTHER, '{"a":1}', signBody(SECRET, '{"a":1}'))).toBe(false);
  });

  it('when the header is missing or empty, then verification fails', () => {
    expect(verifyBody(SECRET, '{}', undefined)).toBe(false);
    expect(verifyBody(SECRET, '{}', '')).toBe(false);
  });

  it('when the header is malformed (no prefix, other algorithm, truncated), then verification fails without throwing', () => {
    const good = signBody(SECRET, '{}');
    expect(verifyBody(SECRET, '{}', good.slice('sha256='.length))).toBe(false);
    expect(verifyBody(SECRET, '{}', good.replace('sha256=', 'sha1=xx'))).toBe(false);
    expect(verifyBody(SECRET, '{}', good.slice(0, -1))).toBe(false);
    expect(verifyBody(SECRET, '{}', `${good}0`)).toBe(false);
  });

  it('property: a signature verifies exactly for its own (secret, body)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string(),
        fc.string({ minLength: 1 }),
        fc.string(),
        (s1, b1, s2, b2) => {
          const header = signBody(s1, b1);
          expect(verifyBody(s1, b1, header)).toBe(true);
          if (s1 !== s2 || b1 !== b2) expect(verifyBody(s2, b2, header)).toBe(false);
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// webhookChannel against a real HTTP server

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  raw: Buffer;
}

const DEFAULT_SECRET = 'default-webhook-secret-xyz';
const TARGET_SECRET = 'target-own-secret-abc123';
const SENT_AT = new Date('2025-06-01T12:34:56.789Z');

const message: OutboundMessage = {
  type: 'matter.reminder',
  matter: {
    id: 'mat_1',
    source: 'erp',
    externalId: 'PO-77',
    title: 'Approve purchase order 77',
    details: 'Three laptops',
    link: 'https://erp.example/po/77',
    dueAt: '2025-06-02T00:00:00.000Z',
    priority: 'high',
    status: 'open',
    handlerId: 'alice',
    createdAt: '2025-06-01T08:00:00.000Z',
  },
  handler: { id: 'alice', name: 'Alice Example' },
  actions: [
    { action: 'complete', url: 'https://mf.example/a/tok1' },
    { action: 'transfer', url: 'https://mf.example/a/tok2' },
  ],
  idempotencyKey: 'mat_1:reminder:3',
  data: { reminderIndex: 3 },
};

describe('webhookChannel', () => {
  let server: Server;
  let base: string;
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, headers: req.headers, raw: Buffer.concat(chunks) });
        const status = /^\/status\/(\d{3})$/.exec(req.url ?? '')?.[1];
        if (req.url === '/hang') {
          hanging.push(res); // never answers
          return;
        }
        res.writeHead(status ? Number(status) : 200, { 'content-type': 'text/plain' });
        res.end('answer body that the channel should discard');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  beforeEach(() => {
    received.length = 0;
  });

  // Built before the receiver has its port: loopback as a whole is allowed here.
  const outbound = outboundPolicy(parseAllowHosts('127.0.0.1'));
  const channel = webhookChannel({
    defaultSecret: DEFAULT_SECRET,
    timeoutMs: 2000,
    outbound,
    now: () => SENT_AT,
  });
  const target = (path: string, settings: Record<string, unknown> = {}): ChannelTarget => ({
    type: 'webhook',
    address: `${base}${path}`,
    settings,
  });

  it('has the channel type "webhook"', () => {
    expect(channel.type).toBe('webhook');
  });

  it('when the receiver answers 200, then it POSTs JSON with idempotency key and reports ok', async () => {
    const result = await channel.send(target('/hook'), message);
    expect(result).toEqual({ ok: true, httpStatus: 200, retryable: false });
    expect(received).toHaveLength(1);
    const [req] = received;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/hook');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['idempotency-key']).toBe('mat_1:reminder:3');
    expect(req?.headers['user-agent']).toBe('matterflow-webhook/1');
  });

  it('when the target has no secret, then the signature verifies over the raw body with the default secret', async () => {
    await channel.send(target('/hook'), message);
    const req = received[0]!;
    const header = req.headers[SIGNATURE_HEADER] as string;
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyBody(DEFAULT_SECRET, req.raw, header)).toBe(true);
    expect(verifyBody(TARGET_SECRET, req.raw, header)).toBe(false);
  });

  it('when the target has its own secret, then the signature uses it instead of the default', async () => {
    await channel.send(target('/hook', { secret: TARGET_SECRET }), message);
    const req = received[0]!;
    const header = req.headers[SIGNATURE_HEADER] as string;
    expect(verifyBody(TARGET_SECRET, req.raw, header)).toBe(true);
    expect(verifyBody(DEFAULT_SECRET, req.raw, header)).toBe(false);
  });

  it('when the target secret is not a string, then the default secret is used', async () => {
    await channel.send(target('/hook', { secret: 12345 }), message);
    const req = received[0]!;
    expect(verifyBody(DEFAULT_SECRET, req.raw, req.headers[SIGNATURE_HEADER] as string)).toBe(true);
  });

  it('when the body arrives, then it carries type, matter, handler, actions, data, idempotencyKey and sentAt', async () => {
    await channel.send(target('/hook'), message);
    const raw = received[0]!.raw;
    const body = JSON.parse(raw.toString('utf8'));
    expect(body).toEqual({
      type: 'matter.reminder',
      matter: message.matter,
      handler: message.handler,
      actions: message.actions,
      data: message.data,
      idempotencyKey: 'mat_1:reminder:3',
      sentAt: '2025-06-01T12:34:56.789Z',
    });
    // the bytes signed are exactly the bytes sent
    expect(raw.toString('utf8')).toBe(webhookBody(message, SENT_AT));
  });

  it('when the receiver answers 500, then delivery failed and is retryable', async () => {
    const result = await channel.send(target('/status/500'), message);
    expect(result).toMatchObject({ ok: false, retryable: true, httpStatus: 500 });
    expect(result.error).toContain('500');
  });

  it.each([408, 425, 429, 502, 503])(
    'when the receiver answers %i, then delivery is retryable',
    async (status) => {
      expect(await channel.send(target(`/status/${status}`), message)).toMatchObject({
        ok: false,
        retryable: true,
        httpStatus: status,
      });
    },
  );

  it.each([400, 401, 404, 410, 422])(
    'when the receiver answers %i, then delivery failed and is not retryable',
    async (status) => {
      expect(await channel.send(target(`/status/${status}`), message)).toMatchObject({
        ok: false,
        retryable: false,
        httpStatus: status,
      });
    },
  );

  it('when the receiver answers 204, then delivery is ok', async () => {
    expect(await channel.send(target('/status/204'), message)).toEqual({
      ok: true,
      httpStatus: 204,
      retryable: false,
    });
  });

  it('when the receiver never answers within timeoutMs, then delivery fails as retryable without an HTTP status', async () => {
    const quick = webhookChannel({ defaultSecret: DEFAULT_SECRET, timeoutMs: 200, outbound });
    const started = Date.now();
    const result = await quick.send(target('/hang'), message);
    const elapsed = Date.now() - started;
    expect(result.ok).toBe(false);
    expect(result.retryable).toBe(true);
    expect(result.httpStatus).toBeUndefined();
    expect(result.error).toMatch(/^request failed: /);
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(1900);
  });

  it('when nothing listens on the port, then delivery fails as retryable', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const result = await channel.send(
      { type: 'webhook', address: `http://127.0.0.1:${port}/hook`, settings: {} },
      message,
    );
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.httpStatus).toBeUndefined();
    expect(result.error).toMatch(/^request failed: /);
  });
});
