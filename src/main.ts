import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { installSdkLogger, startWorker } from '../worker.js';
import { buildApp } from './api/app.js';
import { loadConfig, loadLauncherConfig } from './config.js';
import { seedAdminToken } from './db/api-tokens.js';
import { createSql } from './db/client.js';
import { migrate } from './db/migrate.js';
import { createLogger } from './logger.js';
import { startEmbeddedPostgres } from './runtime/embedded-postgres.js';
import { localSecrets } from './runtime/local-secrets.js';
import { startDevServer } from './runtime/temporal-dev-server.js';
import { temporalCliPath } from './runtime/tools.js';

/** `npm start`: everything on one machine with embedded defaults, each part replaceable by env. */
const launcher = loadLauncherConfig();
const dataDir = resolve(launcher.DATA_DIR);
mkdirSync(dataDir, { recursive: true });
const secrets = localSecrets(dataDir);
const env: Record<string, string | undefined> = {
  ...process.env,
  ADMIN_TOKEN: process.env.ADMIN_TOKEN ?? secrets.adminToken,
  LINK_SECRET: process.env.LINK_SECRET ?? secrets.linkSecret,
  CALLBACK_SECRET_KEY: process.env.CALLBACK_SECRET_KEY ?? secrets.callbackSecretKey,
};
const log = createLogger(process.env.LOG_LEVEL ?? 'info');
const stops: (() => Promise<unknown>)[] = [];

async function shutdown(code: number): Promise<never> {
  let exitCode = code;
  for (const stop of stops.reverse()) {
    await stop().catch((err) => {
      log.error({ err }, 'shutdown step failed');
      exitCode = 1;
    });
  }
  process.exit(exitCode);
}

try {
  let temporalUi: string | null = null;
  if (!env.TEMPORAL_ADDRESS) {
    const server = await startDevServer({
      cli: temporalCliPath(),
      dbFile: resolve(dataDir, 'temporal.db'),
      port: launcher.TEMPORAL_DEV_PORT,
      uiPort: launcher.TEMPORAL_UI_PORT,
      log: (line) => log.debug({ component: 'temporal' }, line),
    });
    stops.push(() => server.stop());
    env.TEMPORAL_ADDRESS = server.address;
    temporalUi = server.uiUrl;
  }
  let poolMax: number | undefined;
  if (!env.DATABASE_URL) {
    const pg = await startEmbeddedPostgres(resolve(dataDir, 'pg'));
    stops.push(() => pg.stop());
    env.DATABASE_URL = pg.url;
    poolMax = 1;
  }
  const config = loadConfig(env);
  const databaseUrl = config.databaseUrl!;
  await migrate(databaseUrl, { info: (m) => log.info(m) });
  const sql = createSql(databaseUrl, { max: poolMax ?? config.dbPoolMax });
  stops.push(() => sql.end({ timeout: 5 }));
  if (config.adminToken) await seedAdminToken(sql, config.adminToken);

  installSdkLogger(log, { metricsAddress: config.temporalMetricsAddress });
  const connection = await Connection.connect({ address: config.temporalAddress });
  stops.push(() => connection.close());
  const temporal = new Client({ connection, namespace: config.namespace });
  const app = await buildApp({ config, sql, temporal, log });
  const worker = await startWorker({
    config,
    sql,
    log,
    metrics: app.metrics,
    // The embedded database serves one connection, which LISTEN would keep to itself.
    listenForCallbacks: poolMax === undefined,
  });
  stops.push(() => worker.stop());
  // Run in reverse: the API stops taking requests and finishes its own (whose Updates the worker still
  // serves), then the worker drains, then connections and the database close.
  stops.push(() => app.close());
  await app.listen({ host: config.host, port: config.port });
  const api = `http://${config.host}:${(app.server.address() as { port: number }).port}`;

  const lines = [
    'matterflow is ready',
    `  API          ${api}/v1`,
    `  API docs     ${api}/docs`,
    `  Web inbox    ${api}/inbox  (sign in with a token from /v1/tokens)`,
    `  Temporal UI  ${temporalUi ?? `(external cluster at ${config.temporalAddress})`}`,
    `  Admin token  ${process.env.ADMIN_TOKEN ? '(from ADMIN_TOKEN)' : `${secrets.adminToken}  (kept in ${resolve(dataDir, 'secrets.json')})`}`,
    'Press Ctrl-C to stop.',
  ];
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping');
      void shutdown(0);
    });
  }
} catch (err) {
  log.error({ err }, 'matterflow failed to start');
  await shutdown(1);
}
