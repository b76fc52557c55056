import { type Static, type TObject, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  CHANNEL_ENV_KEYS,
  type ChannelSettings,
  ChannelSettingsError,
  channelSettingsFrom,
} from './channels/settings.js';
import { parseDuration } from './domain/duration.js';
import { CapsError, checkReminderCaps, type ReminderCaps } from './domain/reminder-caps.js';
import { type AllowedHost, AllowHostError, parseAllowHosts } from './security/outbound-address.js';

const Env = Type.Object({
  DATABASE_URL: Type.Optional(Type.String({ minLength: 1 })),
  TEMPORAL_ADDRESS: Type.Optional(Type.String({ minLength: 1 })),
  TEMPORAL_NAMESPACE: Type.String({ default: 'default', minLength: 1 }),
  TASK_QUEUE: Type.String({ default: 'matterflow', minLength: 1 }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  PUBLIC_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 24 })),
  LINK_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  CALLBACK_SECRET_KEY: Type.Optional(Type.String({ minLength: 32 })),
  CALLBACK_TIMEOUT_MS: Type.Integer({ default: 10000, minimum: 100 }),
  CALLBACK_POLL_MS: Type.Integer({ default: 5000, minimum: 10 }),
  CALLBACK_BACKOFF_BASE_MS: Type.Integer({ default: 1000, minimum: 1 }),
  CALLBACK_BACKOFF_CAP_MS: Type.Integer({ default: 300000, minimum: 1 }),
  CALLBACK_RETRY_FOR: Type.String({ default: 'P1D' }),
  ACTION_LINK_TTL: Type.String({ default: 'P7D' }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ default: 10000, minimum: 100 }),
  OUTBOUND_ALLOW_HOSTS: Type.String({ default: '' }),
  ACTION_TIMEOUT_MS: Type.Integer({ default: 15000, minimum: 100 }),
  DB_POOL_MAX: Type.Integer({ default: 10, minimum: 1 }),
  REMINDER_CAP_PER_HOUR: Type.Integer({ default: 20, minimum: 1, maximum: 10000 }),
  REMINDER_CAP_PER_DAY: Type.Integer({ default: 100, minimum: 1, maximum: 10000 }),
  TRANSFER_ALERT_AFTER: Type.Integer({ default: 3, minimum: 1, maximum: 1000 }),
  WORKER_METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  TEMPORAL_METRICS_ADDRESS: Type.Optional(Type.String({ pattern: '^[^\\s:]+:\\d+$' })),
  SHUTDOWN_GRACE_MS: Type.Integer({ default: 20000, minimum: 0 }),
  WORKER_MAX_CACHED_WORKFLOWS: Type.Integer({ default: 3000, minimum: 0 }),
  WORKER_MAX_WORKFLOW_TASKS: Type.Integer({ default: 40, minimum: 2 }),
  WORKER_MAX_ACTIVITIES: Type.Integer({ default: 100, minimum: 1 }),
  WORKER_MAX_LOCAL_ACTIVITIES: Type.Integer({ default: 100, minimum: 1 }),
  WORKER_STICKY_TIMEOUT_MS: Type.Integer({ default: 3000, minimum: 1000 }),
  WORKFLOW_BUNDLE_PATH: Type.Optional(Type.String({ minLength: 1 })),
  ...Object.fromEntries(CHANNEL_ENV_KEYS.map((k) => [k, Type.Optional(Type.String({ minLength: 1 }))])),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
});

/** What `npm start` needs before the rest exists: where to keep data and which ports to take. */
const LauncherEnv = Type.Object({
  DATA_DIR: Type.String({ default: '.data', minLength: 1 }),
  TEMPORAL_DEV_PORT: Type.Integer({ default: 7233, minimum: 1, maximum: 65535 }),
  TEMPORAL_UI_PORT: Type.Integer({ default: 8233, minimum: 1, maximum: 65535 }),
});
export type LauncherConfig = Static<typeof LauncherEnv>;

/** Names of every variable matterflow reads; deployment files are checked against it. */
export const CONFIG_KEYS = [...Object.keys(Env.properties), ...Object.keys(LauncherEnv.properties)];

function parse<T extends TObject>(schema: T, env: Record<string, string | undefined>): Static<T> {
  const known = Object.fromEntries(
    Object.keys(schema.properties)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  // TypeBox's conversion would read "1e3" as 1 and "true" as 1: whole numbers must be written as such.
  for (const [key, value] of Object.entries(known)) {
    if (schema.properties[key]?.type === 'integer' && !/^\d+$/.test(String(value))) {
      throw new ConfigError(`invalid configuration: ${key} must be a whole number, not "${value}"`);
    }
  }
  const converted = Value.Default(schema, Value.Convert(schema, known));
  const errors = [...Value.Errors(schema, converted)];
  if (errors.length > 0) {
    throw new ConfigError(
      `invalid configuration: ${errors.map((e) => `${e.path.slice(1) || 'env'} ${e.message}`).join('; ')}`,
    );
  }
  return converted as Static<T>;
}

/** Migrations need only the database. */
export function databaseUrlFrom(env: Record<string, string | undefined> = process.env): string {
  const url = env.DATABASE_URL;
  if (!url) throw new ConfigError('DATABASE_URL is required');
  return url;
}

export function loadLauncherConfig(
  env: Record<string, string | undefined> = process.env,
): Readonly<LauncherConfig> {
  return Object.freeze(parse(LauncherEnv, env));
}

export interface Config {
  databaseUrl: string | undefined;
  temporalAddress: string;
  /** False when matterflow should start its own dev server. */
  temporalExternal: boolean;
  namespace: string;
  taskQueue: string;
  host: string;
  port: number;
  publicBaseUrl: string;
  adminToken: string | undefined;
  linkSecret: string;
  webhookSecret: string;
  actionLinkTtlMs: number;
  webhookTimeoutMs: number;
  /** Hosts (any port) or host:ports on loopback or private ranges that webhooks and callbacks may still reach. */
  outboundAllowHosts: readonly AllowedHost[];
  /** How long an API caller waits for the matter's workflow to take an action before getting 503. */
  actionTimeoutMs: number;
  dbPoolMax: number;
  logLevel: string;
  /** Reminders one person may get across all matters, unless their own caps say otherwise. */
  reminderCaps: ReminderCaps;
  /** More transfers of one matter than this alert the manager. */
  transferAlertAfter: number;
  channels: ChannelSettings;
  /** Encrypts the secrets that sign callbacks to source systems. */
  callbackSecretKey: string;
  sourceCallbacks: SourceCallbackSettings;
  /** A worker on its own serves `/metrics` and `/healthz` on this port (on `host`); absent, it serves none. */
  workerMetricsPort: number | undefined;
  /** `host:port` where Temporal's core SDK serves its own Prometheus metrics; absent, it serves none. */
  temporalMetricsAddress: string | undefined;
  /** How long in-flight requests and activities get to finish on SIGTERM before they are cut off. */
  shutdownGraceMs: number;
  worker: WorkerTuning;
}

/** Chosen by measurement (bench/open-matters.ts); see README "Scaling out". */
export interface WorkerTuning {
  /** Runs kept in memory; a run evicted replays its history when it next has work. */
  maxCachedWorkflows: number;
  maxConcurrentWorkflowTaskExecutions: number;
  maxConcurrentActivityTaskExecutions: number;
  maxConcurrentLocalActivityExecutions: number;
  /**
   * How long a cached run's task waits for this worker before any worker may take it: after a crash,
   * the matters it held resume this soon. Temporal's default is 10 s.
   */
  stickyQueueScheduleToStartTimeoutMs: number;
  /** A bundle built by `npm run build:workflows`; absent, the worker bundles the workflow code at start. */
  workflowBundlePath: string | undefined;
}

/** How the outbox dispatcher delivers callbacks to source systems. */
export interface SourceCallbackSettings {
  timeoutMs: number;
  /** A fallback: new rows wake the dispatcher at once through LISTEN/NOTIFY. */
  pollMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** How long a callback is retried before it is marked failed; never less than a day. */
  retryForMs: number;
}

const ONE_DAY_MS = 24 * 3_600_000;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const e = parse(Env, env);
  if (!e.LINK_SECRET) throw new ConfigError('LINK_SECRET is required (at least 32 characters)');
  let actionLinkTtlMs: number;
  try {
    actionLinkTtlMs = parseDuration(e.ACTION_LINK_TTL);
  } catch (err) {
    throw new ConfigError(`ACTION_LINK_TTL: ${(err as Error).message}`);
  }
  let reminderCaps: ReminderCaps;
  try {
    reminderCaps = checkReminderCaps({ perHour: e.REMINDER_CAP_PER_HOUR, perDay: e.REMINDER_CAP_PER_DAY });
  } catch (err) {
    if (!(err instanceof CapsError)) throw err;
    throw new ConfigError('REMINDER_CAP_PER_HOUR cannot exceed REMINDER_CAP_PER_DAY');
  }
  let retryForMs: number;
  try {
    retryForMs = parseDuration(e.CALLBACK_RETRY_FOR);
  } catch (err) {
    throw new ConfigError(`CALLBACK_RETRY_FOR: ${(err as Error).message}`);
  }
  // A source down over a night must lose nothing.
  if (retryForMs < ONE_DAY_MS) throw new ConfigError('CALLBACK_RETRY_FOR must be at least P1D');
  if (e.CALLBACK_BACKOFF_BASE_MS > e.CALLBACK_BACKOFF_CAP_MS) {
    throw new ConfigError('CALLBACK_BACKOFF_BASE_MS cannot exceed CALLBACK_BACKOFF_CAP_MS');
  }
  let outboundAllowHosts: AllowedHost[];
  try {
    outboundAllowHosts = parseAllowHosts(e.OUTBOUND_ALLOW_HOSTS);
  } catch (err) {
    if (!(err instanceof AllowHostError)) throw err;
    throw new ConfigError(`OUTBOUND_ALLOW_HOSTS: ${err.message}`);
  }
  let channels: ChannelSettings;
  try {
    channels = channelSettingsFrom(env, e.WEBHOOK_TIMEOUT_MS);
  } catch (err) {
    if (!(err instanceof ChannelSettingsError)) throw err;
    throw new ConfigError(`invalid configuration: ${err.message}`);
  }
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    temporalAddress: e.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    temporalExternal: e.TEMPORAL_ADDRESS !== undefined,
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TASK_QUEUE,
    host: e.HOST,
    port: e.PORT,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://${e.HOST}:${e.PORT}`).replace(/\/+$/, ''),
    adminToken: e.ADMIN_TOKEN,
    linkSecret: e.LINK_SECRET,
    webhookSecret: e.WEBHOOK_SECRET ?? e.LINK_SECRET,
    actionLinkTtlMs,
    webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
    outboundAllowHosts,
    actionTimeoutMs: e.ACTION_TIMEOUT_MS,
    dbPoolMax: e.DB_POOL_MAX,
    logLevel: e.LOG_LEVEL,
    reminderCaps,
    transferAlertAfter: e.TRANSFER_ALERT_AFTER,
    channels,
    // Like WEBHOOK_SECRET; a deployment sets its own, so LINK_SECRET can rotate without re-sealing secrets.
    callbackSecretKey: e.CALLBACK_SECRET_KEY ?? e.LINK_SECRET,
    sourceCallbacks: {
      timeoutMs: e.CALLBACK_TIMEOUT_MS,
      pollMs: e.CALLBACK_POLL_MS,
      backoffBaseMs: e.CALLBACK_BACKOFF_BASE_MS,
      backoffCapMs: e.CALLBACK_BACKOFF_CAP_MS,
      retryForMs,
    },
    workerMetricsPort: e.WORKER_METRICS_PORT,
    temporalMetricsAddress: e.TEMPORAL_METRICS_ADDRESS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    worker: {
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
      maxConcurrentWorkflowTaskExecutions: e.WORKER_MAX_WORKFLOW_TASKS,
      maxConcurrentActivityTaskExecutions: e.WORKER_MAX_ACTIVITIES,
      maxConcurrentLocalActivityExecutions: e.WORKER_MAX_LOCAL_ACTIVITIES,
      stickyQueueScheduleToStartTimeoutMs: e.WORKER_STICKY_TIMEOUT_MS,
      workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
    },
  });
}
