import autocannon from 'autocannon';

/**
 * Drives the API with autocannon from a process of its own, so the load generator does not share the
 * event loop of the API it measures. Reads a LoadSpec as JSON from argv[2]; prints a LoadResult as
 * one JSON line. The mix: a handler's inbox (open matters) three times for each matter a source pushes.
 */
export interface LoadSpec {
  url: string;
  seconds: number;
  connections: number;
  /** Requests per second over all connections; absent, as fast as the API answers. */
  overallRate?: number;
  /** Run first and thrown away, so the measured run meets a warm process. */
  warmupSeconds?: number;
  handlerId: string;
  handlerToken: string;
  source: string;
  sourceToken: string;
  /** Every pushed matter's externalId starts with it, so each run pushes new matters. */
  prefix: string;
}

export interface LoadResult {
  seconds: number;
  requests: number;
  /** Requests answered per second, over the whole run. */
  rate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  byStatus: Record<string, number>;
}

const INBOX_PER_PUSH = 3;

async function run(spec: LoadSpec, seconds: number, prefix: string): Promise<LoadResult> {
  let pushed = 0;
  const inbox = {
    method: 'GET' as const,
    path: '/v1/matters?status=open&limit=50',
    headers: { authorization: `Bearer ${spec.handlerToken}` },
  };
  const push = {
    method: 'POST' as const,
    path: '/v1/matters',
    headers: { authorization: `Bearer ${spec.sourceToken}`, 'content-type': 'application/json' },
    setupRequest: (request: autocannon.Request) => ({
      ...request,
      body: JSON.stringify({
        source: spec.source,
        externalId: `${prefix}-${pushed++}`,
        title: 'Load test matter',
        handlerId: spec.handlerId,
      }),
    }),
  };
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: seconds,
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
    timeout: 10,
    requests: [...Array.from({ length: INBOX_PER_PUSH }, () => inbox), push],
  });
  const byStatus = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([status, s]) => [status, s.count ?? 0]),
  );
  return {
    seconds: result.duration,
    requests: result.requests.total,
    rate: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    byStatus,
  };
}

const spec = JSON.parse(process.argv[2]!) as LoadSpec;
if (spec.warmupSeconds) await run(spec, spec.warmupSeconds, `${spec.prefix}~warmup`);
process.stdout.write(`${JSON.stringify(await run(spec, spec.seconds, spec.prefix))}\n`);
