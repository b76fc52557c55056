import { createServer, type Server, type ServerResponse } from 'node:http';
import { text } from 'node:stream/consumers';
import { SIGNATURE_HEADER, verifyBody } from '../../src/security/signature.js';

/**
 * How a receiver misbehaves on one request:
 * - `500`: refuses before doing anything;
 * - `reset`: drops the connection before doing anything;
 * - `timeout`: does the work, then never answers, so the sender gives up not knowing it landed.
 */
export type FaultKind = '500' | 'reset' | 'timeout';
export const FAULT_KINDS: readonly FaultKind[] = ['500', 'reset', 'timeout'];

/** Which fault, if any, the `nth` request (from 1) carrying `key` meets. */
export type FaultPlan = (key: string, nth: number) => FaultKind | null;

/** Every other request of a message faults, the first included: half of all requests. */
export const everyOther =
  (kind: FaultKind): FaultPlan =>
  (_key, nth) =>
    nth % 2 === 1 ? kind : null;

export const always =
  (kind: FaultKind): FaultPlan =>
  () =>
    kind;

export interface FaultyRequest {
  path: string;
  /** The `idempotency-key` header. */
  key: string;
  body: { type: string; matter: { id: string }; idempotencyKey: string; sentAt: string } & Record<
    string,
    unknown
  >;
  signatureValid: boolean;
  /** The fault it met, or `ok` for a 200. */
  outcome: FaultKind | 'ok';
  /** A 200 for a key already done: what the receiver's dedupe absorbed instead of acting twice. */
  absorbed: boolean;
}

/**
 * A webhook receiver on loopback that faults on the requests its plan names and, like a careful real
 * receiver, acts on each idempotency key once: a request for a key already acted on is answered 200
 * without acting again. Everything is logged for the test to count.
 */
export class FaultyReceiver {
  readonly requests: FaultyRequest[] = [];
  /** Keys acted on (a 200, or a `timeout` fault, which acts before it stalls). */
  readonly done = new Set<string>();
  url = '';
  private server: Server | undefined;
  private readonly seen = new Map<string, number>();
  private readonly stalled = new Set<ServerResponse>();

  constructor(
    readonly secret: string,
    private readonly plan: FaultPlan,
  ) {}

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const raw = await text(req);
      const key = String(req.headers['idempotency-key'] ?? '');
      const nth = (this.seen.get(key) ?? 0) + 1;
      this.seen.set(key, nth);
      const fault = this.plan(key, nth);
      const absorbed = fault !== '500' && fault !== 'reset' && this.done.has(key);
      this.requests.push({
        path: req.url ?? '/',
        key,
        body: JSON.parse(raw),
        signatureValid: verifyBody(this.secret, raw, req.headers[SIGNATURE_HEADER] as string | undefined),
        outcome: fault ?? 'ok',
        absorbed,
      });
      if (fault === '500') return void res.writeHead(500).end();
      if (fault === 'reset') return void req.socket.destroy();
      this.done.add(key);
      if (fault === 'timeout') {
        // Held until the sender hangs up (or the receiver stops).
        this.stalled.add(res);
        res.on('close', () => this.stalled.delete(res));
        return;
      }
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  addressFor(handlerId: string): string {
    return `${this.url}/hooks/${encodeURIComponent(handlerId)}`;
  }

  /** How many requests met each fault. */
  faults(): Record<FaultKind, number> {
    const counts = { '500': 0, reset: 0, timeout: 0 };
    for (const r of this.requests) if (r.outcome !== 'ok') counts[r.outcome]++;
    return counts;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    for (const res of this.stalled) res.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
