import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { SIGNATURE_HEADER, verifyBody } from '../../src/security/signature.js';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: {
    type: string;
    matter: Record<string, unknown> & { id: string; title: string; handlerId: string };
    handler: { id: string; name: string };
    actions: { action: string; url: string }[];
    data: Record<string, unknown>;
    idempotencyKey: string;
    sentAt: string;
  };
  signatureValid: boolean;
}

/** A real HTTP receiver on loopback that records every delivery and checks its signature. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private server: Server | undefined;
  url = '';
  /** Answer status per request; 200 unless a test says otherwise. */
  respond: (hook: ReceivedWebhook) => number = () => 200;

  constructor(readonly secret: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const hook: ReceivedWebhook = {
          path: req.url ?? '/',
          headers: req.headers,
          raw,
          body: JSON.parse(raw),
          signatureValid: verifyBody(this.secret, raw, req.headers[SIGNATURE_HEADER] as string | undefined),
        };
        this.received.push(hook);
        res.writeHead(this.respond(hook)).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  /** The address for one handler, so each test can tell its deliveries apart. */
  addressFor(handlerId: string): string {
    return `${this.url}/hooks/${encodeURIComponent(handlerId)}`;
  }

  for(handlerId: string): ReceivedWebhook[] {
    return this.received.filter((h) => h.path === `/hooks/${encodeURIComponent(handlerId)}`);
  }

  async waitFor(
    predicate: (hook: ReceivedWebhook) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<ReceivedWebhook> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find(predicate);
      if (hit) return hit;
      if (Date.now() > deadline) {
        const seen = this.received.map((h) => `${h.path} ${h.body.type}`).join(', ') || 'nothing';
        throw new Error(`webhook receiver: timed out waiting for ${what}; received: ${seen}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
