import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signCallback } from '../../src/callbacks/signature.js';
import { newSecret } from '../../src/security/secret-hash.js';
import { call, createHandler, startStack, type TestStack } from '../support/stack.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/source-system.ts', import.meta.url));

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.close());

interface Line {
  event: string;
  [key: string]: any;
}

describe('the example source system under examples/', () => {
  it('pushes matters with versions, and hears back once, verified, about each one completed', async () => {
    const code = `example-${randomUUID().slice(0, 6)}`;
    const secret = newSecret();
    // One of the ports every stack may call back (test/support/global-setup.ts).
    const port = inject('callbackPorts')[2]!;
    const callbackUrl = `http://127.0.0.1:${port}/callbacks`;
    const registered = await call(stack, 'POST', '/v1/source-systems', {
      token: stack.adminToken,
      body: { code, name: 'Example source', trusted: true, callbackUrl, callbackSecret: secret },
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const token = await call(stack, 'POST', '/v1/tokens', {
      token: stack.adminToken,
      body: { subject: code, role: 'source' },
    });
    const handler = await createHandler(stack);

    const child = spawn(process.execPath, ['--import', 'tsx', EXAMPLE], {
      env: {
        ...process.env,
        MATTERFLOW_URL: stack.baseUrl,
        SOURCE_CODE: code,
        SOURCE_TOKEN: token.body.token,
        CALLBACK_SECRET: secret,
        CALLBACK_PORT: String(port),
        HANDLER_ID: handler.id,
        MATTER_COUNT: '3',
        WAIT_SECONDS: '60',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    const lines: Line[] = [];
    const pushed = new Promise<Line>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (text) => {
        const line = JSON.parse(text) as Line;
        lines.push(line);
        if (line.event === 'pushed') resolve(line);
        if (line.event === 'failed') reject(new Error(line.error));
      });
      child.once('exit', () => reject(new Error('the example exited before pushing')));
    });

    try {
      const { matters, staleRefused } = await pushed;
      expect(staleRefused, 'a late version 1 after version 2 is refused as stale').toBe(true);
      expect(matters).toHaveLength(3);
      const first = await call(stack, 'GET', `/v1/matters/${matters[0].matterId}`, {
        token: stack.adminToken,
      });
      expect(first.body.title).toBe('Example matter 1 (corrected)');

      // A forged callback (right shape, wrong secret) is refused by the example.
      const body = JSON.stringify({ id: randomUUID(), type: 'matter.completed', matter: matters[0] });
      const ts = Math.floor(Date.now() / 1000);
      const forged = await fetch(callbackUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'matterflow-timestamp': String(ts),
          'matterflow-signature': signCallback('not-the-secret', ts, body),
        },
        body,
      });
      expect(forged.status).toBe(401);

      for (const m of matters) {
        const done = await call(stack, 'POST', `/v1/matters/${m.matterId}/complete`, {
          token: handler.token,
          body: { outcome: 'approved' },
        });
        expect(done.status, JSON.stringify(done.body)).toBe(200);
      }
      expect(await exited).toBe(0);
    } finally {
      child.kill();
    }

    const done = lines.find((l) => l.event === 'done')!;
    expect(done).toMatchObject({
      timedOut: false,
      stillOpen: [],
      accepted: 3,
      duplicates: 0,
      refused: 1,
      byType: { 'matter.completed': 3 },
      reconcile: { missingHere: [], closedHere: 0, openHereOnly: 0 },
    });
    const callbacks = lines.filter((l) => l.event === 'callback');
    expect(new Set(callbacks.map((c) => c.externalId)).size).toBe(3);
    const [outbox] = await stack.sql<{ pending: number; delivered: number }[]>`
      select count(*) filter (where delivered_at is null)::int as pending,
             count(*) filter (where delivered_at is not null)::int as delivered
      from callback_outbox where source = ${code}`;
    expect(outbox).toEqual({ pending: 0, delivered: 3 });
  });
});
