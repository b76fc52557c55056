import postgres from 'postgres';

export type Sql = postgres.Sql;
/** A transaction or the pool: query functions take either. */
export type Queryable = postgres.Sql | postgres.TransactionSql;

export interface SqlOptions {
  /** The embedded database serves one connection at a time. */
  max?: number;
}

export function createSql(url: string, options: SqlOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    transform: { undefined: null },
  });
}

/** Postgres error codes that mean the caller did something wrong, not that the database failed. */
export function pgErrorCode(err: unknown): string | undefined {
  return err instanceof postgres.PostgresError ? err.code : undefined;
}
