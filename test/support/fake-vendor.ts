import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, beforeEach } from 'vitest';

/** One request as the fake vendor saw it. */
export interface VendorRequest {
  method: string;
  /** The path without its query. */
  path: string;
  /** Decoded query parameters. */
  query: Record<string, string>;
  /** The query exactly as sent (without `?`), for checking how a value was encoded. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  raw: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  body: any;
  /** When it arrived, in milliseconds since the epoch. */
  at: number;
}

/** What the fake vendor answers: JSON with a status (200 unless given), optionally after a delay. */
export interface VendorReply {
  status?: number;
  json?: unknown;
  /** Sent as is instead of `json`, for answers that are not JSON. */
  text?: string;
  headers?: Record<string, string>;
  delayMs?: number;
}

export type VendorScript = VendorReply | ((request: VendorRequest) => VendorReply);

/**
 * A real HTTP server on loopback standing in for an IM vendor's API. Tests script answers per route
 * (`POST /cgi-bin/message/send`) and read back every request. Routes answer their scripted replies in
 * order and keep repeating the last one; an unscripted route answers 404.
 */
export class FakeVendor {
  readonly requests: VendorRequest[] = [];
  url = '';
  private readonly scripts = new Map<string, VendorScript[]>();
  private server: Server | undefined;

  /** Replaces the answers for a route; `path` excludes the query. */
  on(method: string, path: string, ...replies: VendorScript[]): this {
    if (replies.length === 0) throw new Error('fake vendor: a route needs at least one reply');
    this.scripts.set(`${method.toUpperCase()} ${path}`, replies);
    return this;
  }

  /** The requests one route received, oldest first. */
  requestsTo(method: string, path: string): VendorRequest[] {
    return this.requests.filter((r) => r.method === method.toUpperCase() && r.path === path);
  }

  /** Forgets requests and scripts, so one server can serve many tests. */
  reset(): void {
    this.requests.length = 0;
    this.scripts.clear();
  }

  async start(): Promise<this> {
    // A client that gave up mid-request is owed no answer.
    this.server = createServer((req, res) => this.answer(req, res).catch(() => res.destroy()));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await text(req);
    const target = req.url ?? '/';
    const at = target.indexOf('?');
    const rawQuery = at < 0 ? '' : target.slice(at + 1);
    const request: VendorRequest = {
      method: req.method ?? 'GET',
      path: at < 0 ? target : target.slice(0, at),
      query: Object.fromEntries(new URLSearchParams(rawQuery)),
      rawQuery,
      headers: req.headers,
      raw,
      body: parseJson(raw),
      at: Date.now(),
    };
    this.requests.push(request);
    const reply = this.replyTo(request);
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    res
      .writeHead(reply.status ?? 200, {
        'content-type': reply.text === undefined ? 'application/json' : 'text/plain',
        ...reply.headers,
      })
      .end(reply.text ?? JSON.stringify(reply.json ?? {}));
  }

  private replyTo(request: VendorRequest): VendorReply {
    const queue = this.scripts.get(`${request.method} ${request.path}`);
    if (!queue) return { status: 404, json: { errcode: 404, errmsg: `no script for ${request.path}` } };
    const script = queue.length > 1 ? queue.shift()! : queue[0]!;
    return typeof script === 'function' ? script(request) : script;
  }
}

/** One fake vendor for a test file: started before its tests, and forgetting everything between them. */
export function useFakeVendor(): FakeVendor {
  const vendor = new FakeVendor();
  beforeAll(async () => {
    await vendor.start();
  });
  afterAll(() => vendor.close());
  beforeEach(() => vendor.reset());
  return vendor;
}

function parseJson(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
