import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { freePort } from '../../src/runtime/free-port.js';

const run = promisify(execFile);
const VERSION = '15';

/**
 * A Postgres cluster of the test's own (Debian's postgresql-common tools), so a test may stop and
 * start the server under a running stack without touching the cluster every other test uses.
 * Listens on loopback only; `drop()` stops and removes it, data, configuration and log alike.
 */
export class PgCluster {
  readonly name = `mf_fault_${randomBytes(4).toString('hex')}`;
  private created = false;

  private constructor(readonly port: number) {}

  /** Created and started; on failure whatever was made is dropped again. */
  static async create(): Promise<PgCluster> {
    const cluster = new PgCluster(await freePort());
    try {
      cluster.created = true;
      await run('pg_createcluster', [
        VERSION,
        cluster.name,
        '--port',
        String(cluster.port),
        '--start-conf=manual',
        '--',
        '--auth=trust',
      ]);
      await cluster.start();
      return cluster;
    } catch (err) {
      await cluster.drop().catch(() => {});
      throw err;
    }
  }

  /** The URL of a database on this cluster. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabase(name: string): Promise<string> {
    const admin = postgres(this.url(), { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`create database ${name}`);
    } finally {
      await admin.end();
    }
    return this.url(name);
  }

  /** Waits until the server accepts connections (pg_ctl start -w). */
  async start(): Promise<void> {
    // listen_addresses is given here: pg_createcluster's -o quotes it into a value Postgres refuses.
    await run('pg_ctlcluster', [
      '--skip-systemctl-redirect',
      VERSION,
      this.name,
      'start',
      '--',
      '-o',
      '-c listen_addresses=127.0.0.1 -c fsync=off',
    ]);
  }

  /** A fast shutdown, as an operator or a failover does: sessions are cut, in-flight transactions roll back. */
  async stop(): Promise<void> {
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', '--mode', 'fast', VERSION, this.name, 'stop']);
  }

  async drop(): Promise<void> {
    if (!this.created) return;
    await run('pg_dropcluster', ['--stop', VERSION, this.name]);
    this.created = false;
  }
}
