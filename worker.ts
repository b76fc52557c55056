import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import {
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import type { Registry } from 'prom-client';
import { digestRequester } from './src/activities/digest.js';
import { createActivities } from './src/activities/index.js';
import { chatCommands } from './src/api/chat-commands.js';
import { matterService } from './src/api/matter-service.js';
import { startDispatcher } from './src/callbacks/dispatcher.js';
import { channelRegistry } from './src/channels/channel.js';
import { configuredChannels } from './src/channels/configured.js';
import type { Config } from './src/config.js';
import type { Sql } from './src/db/client.js';
import type { Logger } from './src/logger.js';
import { secretBox } from './src/security/secret-box.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./src/workflows/index.ts', import.meta.url));

export interface WorkerOptions {
  config: Readonly<Config>;
  sql: Sql;
  log: Logger;
  /** A pre-built bundle; without one the worker bundles the workflow code itself. */
  workflowBundle?: WorkflowBundleOption;
  /** Where the callback dispatcher counts; the API's registry when both run in one process. */
  metrics?: Registry;
  /** False on the embedded database, which serves one connection: the dispatcher then only polls. */
  listenForCallbacks?: boolean;
}

export interface RunningWorker {
  worker: Worker;
  /** Drains in-flight tasks, then closes the connection. */
  stop(): Promise<void>;
  done: Promise<void>;
}

export async function startWorker({
  config,
  sql,
  log,
  workflowBundle,
  metrics,
  listenForCallbacks = true,
}: WorkerOptions): Promise<RunningWorker> {
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const clientConnection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection: clientConnection, namespace: config.namespace });
  const channels = configuredChannels(config.channels, config.webhookSecret);
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
  });
  const worker = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    activities,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
  // Callbacks to source systems go out from every worker; the outbox's row locks keep them apart.
  const dispatcher = await startDispatcher({
    sql,
    log,
    settings: config.sourceCallbacks,
    secrets: secretBox(config.callbackSecretKey),
    listen: listenForCallbacks,
    ...(metrics ? { registry: metrics } : {}),
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
    done,
    async stop() {
      // Sends in flight finish and are recorded before the database goes away.
      await dispatcher.stop();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

let sdkLoggerInstalled = false;

/** The SDK's runtime is per process and can be installed once; later calls keep the first logger. */
export function installSdkLogger(log: Logger): void {
  if (sdkLoggerInstalled) return;
  sdkLoggerInstalled = true;
  Runtime.install({
    logger: {
      log: (level, message, meta) =>
        log[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'info')](meta ?? {}, message),
      trace: (message, meta) => log.trace(meta ?? {}, message),
      debug: (message, meta) => log.debug(meta ?? {}, message),
      info: (message, meta) => log.info(meta ?? {}, message),
      warn: (message, meta) => log.warn(meta ?? {}, message),
      error: (message, meta) => log.error(meta ?? {}, message),
    },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
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
  installSdkLogger(log);
  const sql = createSql(config.databaseUrl, { max: config.dbPoolMax });
  const running = await startWorker({ config, sql, log });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void running.stop());
  }
  await running.done;
  await sql.end({ timeout: 5 });
}
