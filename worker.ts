import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import {
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerInterceptors,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import type { Registry } from 'prom-client';
import { digestRequester } from './src/activities/digest.js';
import { heartbeatWhileRunning } from './src/activities/heartbeat.js';
import { createActivities } from './src/activities/index.js';
import { chatCommands } from './src/api/chat-commands.js';
import { matterService } from './src/api/matter-service.js';
import { startDispatcher } from './src/callbacks/dispatcher.js';
import { channelRegistry } from './src/channels/channel.js';
import { configuredChannels } from './src/channels/configured.js';
import type { Config } from './src/config.js';
import type { Sql } from './src/db/client.js';
import type { Logger } from './src/logger.js';
import { actionLatency, processRegistry, startMetricsServer, workerMetrics } from './src/metrics.js';
import { heapFit } from './src/runtime/heap-fit.js';
import { WORKFLOWS_PATH } from './src/runtime/workflow-bundle.js';
import { outboundPolicy } from './src/security/outbound-address.js';
import { secretBox } from './src/security/secret-box.js';

export interface WorkerOptions {
  config: Readonly<Config>;
  sql: Sql;
  log: Logger;
  /** A pre-built bundle; without one the worker bundles the workflow code itself. */
  workflowBundle?: WorkflowBundleOption;
  /** Where the worker counts; the API's registry when both run in one process, else a registry of its own. */
  metrics?: Registry;
  /** False on the embedded database, which serves one connection: the dispatcher then only polls. */
  listenForCallbacks?: boolean;
  /** Around activities and workflows, e.g. a test's injected faults. */
  interceptors?: WorkerInterceptors;
}

export interface RunningWorker {
  worker: Worker;
  /** What a standalone worker serves on its metrics port. */
  registry: Registry;
  /** Drains in-flight tasks, then closes the connection. */
  stop(): Promise<void>;
  done: Promise<void>;
}

export async function startWorker({
  config,
  sql,
  log,
  workflowBundle,
  metrics: registry = processRegistry(),
  listenForCallbacks = true,
  interceptors,
}: WorkerOptions): Promise<RunningWorker> {
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const clientConnection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection: clientConnection, namespace: config.namespace });
  const outbound = outboundPolicy(config.outboundAllowHosts);
  const channels = configuredChannels(config.channels, config.webhookSecret, outbound);
  // Chat commands act as the API would: through the matters' workflows, as the sender.
  channels.xmpp?.onChat(
    chatCommands({
      sql,
      matters: matterService({
        sql,
        temporal: client,
        taskQueue: config.taskQueue,
        actionTimeoutMs: config.actionTimeoutMs,
        transferAlertAfter: config.transferAlertAfter,
        actionLatency: actionLatency(registry),
      }),
    }).xmpp,
  );
  const activities = createActivities({
    sql,
    channels: channelRegistry(channels.all),
    publicBaseUrl: config.publicBaseUrl,
    linkSecret: config.linkSecret,
    actionLinkTtlMs: config.actionLinkTtlMs,
    reminderCaps: config.reminderCaps,
    foldReminder: digestRequester(client, config.taskQueue),
    log,
    metrics: workerMetrics(registry),
  });
  const heap = heapFit(config.worker.maxCachedWorkflows);
  if (!heap.fits) {
    log.warn(
      { maxCachedWorkflows: config.worker.maxCachedWorkflows, ...heap },
      'WORKER_MAX_CACHED_WORKFLOWS may not fit the V8 heap limit: raise --max-old-space-size or lower the cache',
    );
  }
  const worker = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    activities,
    // Beating outermost, so a dead worker's activities are retried within the heartbeat timeout.
    interceptors: { ...interceptors, activity: [heartbeatWhileRunning, ...(interceptors?.activity ?? [])] },
    // On shutdown, activities in flight get this long to finish before they are cancelled.
    shutdownGraceTime: config.shutdownGraceMs,
    shutdownForceTime: config.shutdownGraceMs + SHUTDOWN_FORCE_MARGIN_MS,
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTaskExecutions,
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivityTaskExecutions,
    maxConcurrentLocalActivityExecutions: config.worker.maxConcurrentLocalActivityExecutions,
    stickyQueueScheduleToStartTimeout: config.worker.stickyQueueScheduleToStartTimeoutMs,
    ...workflowCode(workflowBundle, config.worker.workflowBundlePath),
  });
  // Callbacks to source systems go out from every worker; the outbox's row locks keep them apart.
  const dispatcher = await startDispatcher({
    sql,
    log,
    settings: config.sourceCallbacks,
    secrets: secretBox(config.callbackSecretKey),
    listen: listenForCallbacks,
    registry,
    outbound,
  });
  const done = worker.run().finally(async () => {
    await dispatcher.stop();
    // The XMPP channel keeps a connection open.
    await channels.xmpp?.stop();
    await clientConnection.close();
    await connection.close();
  });
  log.info({ taskQueue: config.taskQueue }, 'worker running');
  return {
    worker,
    registry,
    done,
    async stop() {
      // Both drain at once; sends and activities in flight finish and are recorded before the database goes away.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.all([dispatcher.stop(), done]);
    },
  };
}

function workflowCode(
  bundle: WorkflowBundleOption | undefined,
  bundlePath: string | undefined,
): { workflowBundle: WorkflowBundleOption } | { workflowsPath: string } {
  if (bundle) return { workflowBundle: bundle };
  if (bundlePath) return { workflowBundle: { codePath: bundlePath } };
  return { workflowsPath: WORKFLOWS_PATH };
}

/** Past the grace period, a worker whose activities ignore cancellation is abandoned after this much more. */
const SHUTDOWN_FORCE_MARGIN_MS = 5_000;

let sdkLoggerInstalled = false;

/**
 * The SDK's runtime is per process and can be installed once, before any connection; later calls keep
 * the first. It logs through `log`, serves core metrics at `metricsAddress` when given, and leaves
 * signals to the process, which stops its parts in order.
 */
export function installSdkLogger(log: Logger, options: { metricsAddress?: string | undefined } = {}): void {
  if (sdkLoggerInstalled) return;
  sdkLoggerInstalled = true;
  Runtime.install({
    shutdownSignals: [],
    logger: {
      log: (level, message, meta) =>
        log[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'info')](meta ?? {}, message),
      trace: (message, meta) => log.trace(meta ?? {}, message),
      debug: (message, meta) => log.debug(meta ?? {}, message),
      info: (message, meta) => log.info(meta ?? {}, message),
      warn: (message, meta) => log.warn(meta ?? {}, message),
      error: (message, meta) => log.error(meta ?? {}, message),
    },
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...(options.metricsAddress
        ? { metrics: { prometheus: { bindAddress: options.metricsAddress, countersTotalSuffix: true } } }
        : {}),
    },
  });
}

const isEntryPoint = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntryPoint) {
  const { loadConfig } = await import('./src/config.js');
  const { createSql } = await import('./src/db/client.js');
  const { createLogger } = await import('./src/logger.js');
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'matterflow-worker');
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required for a standalone worker');
  installSdkLogger(log, { metricsAddress: config.temporalMetricsAddress });
  const sql = createSql(config.databaseUrl, { max: config.dbPoolMax });
  const running = await startWorker({ config, sql, log });
  const server =
    config.workerMetricsPort === undefined
      ? null
      : await startMetricsServer(running.registry, {
          host: config.host,
          port: config.workerMetricsPort,
          healthy: () => running.worker.getState() === 'RUNNING',
        });
  if (server) log.info({ address: server.address() }, 'worker metrics served');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal, graceMs: config.shutdownGraceMs }, 'worker draining');
      // A failure to drain surfaces through `done` below.
      running.stop().catch(() => {});
    });
  }
  let exitCode = 0;
  try {
    await running.done;
  } catch (err) {
    log.error({ err }, 'worker stopped with an error');
    exitCode = 1;
  }
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await sql.end({ timeout: 5 });
  log.info({ exitCode }, 'worker stopped');
  process.exit(exitCode);
}
