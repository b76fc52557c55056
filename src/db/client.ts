import postgres from 'postgres';

export type Sql = postgres.Sql;
/** A transaction or the pool: query functions take either. */
export type Queryable = postgres.Sql | postgres.TransactionSql;

export interface SqlOptions {
  /** The embedded database serves one connection at a time. */
  max?: number;
}

/**
 * Seconds before a connection is tried again after a failed one. The client's own backoff grows to
 * 20 s, and every query waits it out: while the database is down a request would hang that long
 * instead of being refused, and once it is back the pool would stay away that long.
 */
const reconnectBackoff = (retries: number): number => Math.min(0.05 * 2 ** retries, 1);

export function createSql(url: string, options: SqlOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 10,
    backoff: reconnectBackoff,
    onnotice: () => {},
    transform: { undefined: null },
  });
}

/** Postgres error codes that mean the caller did something wrong, not that the database failed. */
export function pgErrorCode(err: unknown): string | undefined {
  return err instanceof postgres.PostgresError ? err.code : undefined;
}

/** Connection failures of the client (or the socket beneath it): the server is not there. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

/**
 * True when a query failed because the database cannot be reached or is going away (shut down,
 * starting up, out of connections), not because of what was asked: worth a retry later.
 */
export function databaseUnavailable(err: unknown): boolean {
  if (err instanceof postgres.PostgresError) {
    // 08: connection exception; 57P01-57P05: shutdown, crash, cannot connect now; 53300: too many connections.
    return err.code.startsWith('08') || err.code.startsWith('57P') || err.code === '53300';
  }
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNREACHABLE.has(code);
}
