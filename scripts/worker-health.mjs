#!/usr/bin/env node
// Container health check for the worker, which serves no HTTP: healthy when this container's worker has
// polled its workflow task queue lately. Temporal names a worker `<pid>@<hostname>` by default and each
// container has its own hostname, so a replica's check sees only its own pollers.
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';

/** A long poll lasts about a minute; a poller silent for longer than this is gone or stuck. */
export const MAX_POLL_AGE_MS = 120_000;

function timestampMs(ts) {
  if (!ts) return 0;
  const seconds =
    typeof ts.seconds === 'object' && ts.seconds !== null ? ts.seconds.toNumber() : Number(ts.seconds ?? 0);
  return seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

/** Whether a poller from this host was seen within maxAgeMs of now. */
export function pollsFromHost(pollers, host, now = Date.now(), maxAgeMs = MAX_POLL_AGE_MS) {
  return (pollers ?? []).some(
    (p) =>
      typeof p.identity === 'string' &&
      p.identity.endsWith(`@${host}`) &&
      now - timestampMs(p.lastAccessTime) <= maxAgeMs,
  );
}

async function main() {
  const { Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({
    address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    connectTimeout: 3000,
  });
  try {
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace: process.env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: { name: process.env.TASK_QUEUE || 'matterflow' },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
    });
    return pollsFromHost(pollers, hostname());
  } finally {
    await connection.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (healthy) => {
      if (!healthy) process.stderr.write(`no worker on ${hostname()} has polled lately\n`);
      process.exit(healthy ? 0 : 1);
    },
    (err) => {
      process.stderr.write(`worker health: ${err.message}\n`);
      process.exit(1);
    },
  );
}
