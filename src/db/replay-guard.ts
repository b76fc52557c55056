import type { ReplayGuard } from '../security/inbound/replay.js';
import type { Queryable } from './client.js';

/** Sweeping more often buys nothing: a remembered key past its expiry is admitted again anyway. */
const SWEEP_EVERY_MS = 60_000;

/** The guard shared by every API process: a key is admitted by whichever insert lands first. */
export class PostgresReplayGuard implements ReplayGuard {
  private nextSweepAt = 0;

  constructor(private readonly db: Queryable) {}

  async firstSeen(key: string, expiresAt: Date): Promise<boolean> {
    await this.sweep();
    // A row that outlived its expiry only waits for the sweep; it refuses nothing.
    const rows = await this.db`
      insert into inbound_replays (key, expires_at) values (${key}, ${expiresAt})
      on conflict (key) do update set expires_at = excluded.expires_at
        where inbound_replays.expires_at <= now()
      returning key`;
    return rows.length > 0;
  }

  /** Lets the vendor's retry through when the first attempt never reached the matter. */
  async forget(key: string): Promise<void> {
    await this.db`delete from inbound_replays where key = ${key}`;
  }

  private async sweep(): Promise<void> {
    if (Date.now() < this.nextSweepAt) return;
    this.nextSweepAt = Date.now() + SWEEP_EVERY_MS;
    await this.db`delete from inbound_replays where expires_at <= now()`;
  }
}
