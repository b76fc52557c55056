/**
 * An example source system: pushes its matters to matterflow and checks every callback it gets back.
 * Self-contained on purpose (Node built-ins only), so a source team can read it as the contract.
 *
 *   MATTERFLOW_URL   matterflow's API, e.g. http://127.0.0.1:3000
 *   SOURCE_CODE      this source's code in matterflow's registry (its callback URL points here)
 *   SOURCE_TOKEN     a token of role "source" for SOURCE_CODE
 *   CALLBACK_SECRET  the callback secret registered for SOURCE_CODE
 *   CALLBACK_PORT    where to listen for callbacks on 127.0.0.1 (path /callbacks)
 *   HANDLER_ID       who handles the pushed matters
 *   MATTER_COUNT     how many matters to push (default 3)
 *   WAIT_SECONDS     how long to wait for every matter to be settled (default 120)
 *
 *   npx tsx examples/source-system.ts
 *
 * It prints one JSON line per step: `listening`, `pushed` (with matterflow's ids), `callback` for each
 * callback accepted, and `done` with a summary once every matter it pushed is completed, cancelled or
 * returned; then it reconciles its list of open ids against matterflow's. Exit code 0 when every matter
 * was settled in time and the stale write was refused, 1 otherwise.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const api = env('MATTERFLOW_URL').replace(/\/+$/, '');
const source = env('SOURCE_CODE');
const token = env('SOURCE_TOKEN');
const secret = env('CALLBACK_SECRET');
const port = Number(env('CALLBACK_PORT'));
const handlerId = env('HANDLER_ID');
const count = Number(env('MATTER_COUNT', '3'));
const waitMs = Number(env('WAIT_SECONDS', '120')) * 1000;
const REPLAY_WINDOW_SECONDS = 300;
const SETTLED = new Set(['matter.completed', 'matter.cancelled', 'matter.returned']);

const say = (event: string, data: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);

/** `matterflow-signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, within five minutes. */
function verified(req: IncomingMessage, body: string): boolean {
  const timestamp = String(req.headers['matterflow-timestamp'] ?? '');
  const signatures = String(req.headers['matterflow-signature'] ?? '');
  if (!/^\d+$/.test(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > REPLAY_WINDOW_SECONDS) return false;
  const expected = Buffer.from(
    `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`,
  );
  return signatures.split(',').some((s) => {
    const given = Buffer.from(s.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

// What this source keeps: its open matters, and the callback ids it has already taken in.
const open = new Map<string, { version: number; matterId: string | null }>();
const seen = new Set<string>();
const tally = { accepted: 0, duplicates: 0, refused: 0, byType: {} as Record<string, number> };
let allSettled: () => void = () => {};
const settled = new Promise<void>((resolve) => (allSettled = resolve));

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.method !== 'POST' || req.url !== '/callbacks' || !verified(req, body)) {
      tally.refused += 1;
      res.writeHead(401).end();
      return;
    }
    const callback = JSON.parse(body) as {
      id: string;
      type: string;
      matter: { externalId: string; status: string };
    };
    // Delivery is at least once: a callback whose acknowledgement was lost comes again, and is taken once.
    if (seen.has(callback.id)) {
      tally.duplicates += 1;
    } else {
      seen.add(callback.id);
      tally.accepted += 1;
      tally.byType[callback.type] = (tally.byType[callback.type] ?? 0) + 1;
      say('callback', { id: callback.id, type: callback.type, externalId: callback.matter.externalId });
      if (SETTLED.has(callback.type)) open.delete(callback.matter.externalId);
      if (open.size === 0) allSettled();
    }
    res.writeHead(200).end();
  });
});

async function matterflow<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** Each write carries a version that only goes up; matterflow drops anything older than it holds. */
async function put(externalId: string, version: number, title: string): Promise<string> {
  const answer = await matterflow<{ matterId?: string; id?: string }>(
    'PUT',
    `/v1/sources/${source}/matters/${encodeURIComponent(externalId)}`,
    {
      version,
      title,
      handlerId,
      details: 'Pushed by the example source system',
    },
  );
  return answer.matterId ?? answer.id ?? '';
}

async function main(): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  say('listening', { url: `http://127.0.0.1:${port}/callbacks` });

  const run = randomUUID().slice(0, 8);
  for (let i = 1; i <= count; i++) {
    const externalId = `EX-${run}-${i}`;
    const matterId = await put(externalId, 1, `Example matter ${i}`);
    open.set(externalId, { version: 1, matterId });
  }
  // A correction goes out as version 2; a late retry of version 1 is then stale and changes nothing.
  const [first] = [...open.keys()];
  await put(first!, 2, 'Example matter 1 (corrected)');
  open.get(first!)!.version = 2;
  let stale = false;
  try {
    await put(first!, 1, 'Example matter 1');
  } catch (err) {
    stale = String(err).includes('STALE_VERSION');
  }
  say('pushed', {
    matters: [...open].map(([externalId, m]) => ({ externalId, matterId: m.matterId, version: m.version })),
    staleRefused: stale,
  });

  const timedOut = await Promise.race([
    settled.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), waitMs).unref()),
  ]);
  const reconcile = await matterflow<{
    missingHere: string[];
    closedHere: unknown[];
    openHereOnly: unknown[];
  }>('POST', `/v1/sources/${source}/reconcile`, {
    openExternalIds: [...open.keys()],
  });
  say('done', {
    timedOut,
    stillOpen: [...open.keys()],
    ...tally,
    reconcile: {
      missingHere: reconcile.missingHere,
      closedHere: reconcile.closedHere.length,
      openHereOnly: reconcile.openHereOnly.length,
    },
  });
  return !timedOut && stale ? 0 : 1;
}

main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    say('failed', { error: String(err) });
    process.exitCode = 1;
  })
  .finally(() => server.close());
