import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config.js';
import { seedAdminToken } from '../db/api-tokens.js';
import { createSql } from '../db/client.js';
import { createLogger } from '../logger.js';
import { buildApp } from './app.js';

/** The API alone, for deployments that run API and worker as separate services. */
const config = loadConfig();
const log = createLogger(config.logLevel, 'matterflow-api');
if (!config.databaseUrl) throw new Error('DATABASE_URL is required');
const sql = createSql(config.databaseUrl, { max: config.dbPoolMax });
if (config.adminToken) await seedAdminToken(sql, config.adminToken);
const connection = await Connection.connect({ address: config.temporalAddress });
const app = await buildApp({
  config,
  sql,
  temporal: new Client({ connection, namespace: config.namespace }),
  log,
});
await app.listen({ host: config.host, port: config.port });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await app.close();
    await connection.close();
    await sql.end({ timeout: 5 });
    process.exit(0);
  });
}
