import { Counter, type Registry } from 'prom-client';
import type { SourceCallbackSettings } from '../config.js';
import {
  type AttemptOutcome,
  type ClaimedCallback,
  claimDueCallbacks,
  nextDueAt,
  recordAttempt,
} from '../db/callback-outbox.js';
import type { Sql } from '../db/client.js';
import { callbackSecretContext, callbackTarget } from '../db/source-systems.js';
import type { Logger } from '../logger.js';
import type { OutboundPolicy } from '../security/outbound-address.js';
import type { SecretBox } from '../security/secret-box.js';
import { nextStep } from './backoff.js';
import { type PostResult, postJson } from './post.js';
import {
  CALLBACK_ID_HEADER,
  CALLBACK_SIGNATURE_HEADER,
  CALLBACK_TIMESTAMP_HEADER,
  signCallback,
} from './signature.js';

export const OUTBOX_CHANNEL = 'callback_outbox';
/** Callbacks sent at once by one dispatcher. */
const BATCH = 20;

export interface DispatcherOptions {
  sql: Sql;
  log: Logger;
  settings: SourceCallbackSettings;
  secrets: SecretBox;
  /** LISTEN needs a connection of its own, which the single-connection embedded database cannot give. */
  listen: boolean;
  registry?: Registry;
  /** Which callback URLs may be called; the URL is judged again at each attempt. */
  outbound: OutboundPolicy;
}

/** An address no retry can mend: the callback is given up at once. */
type Refused = { error: string; refused: true };

export interface Dispatcher {
  /** Stops picking new callbacks and waits for the ones being sent. */
  stop(): Promise<void>;
}

/**
 * Delivers the callback outbox: picks due rows, POSTs each signed, logs every attempt, and backs off
 * until the source acknowledges with a 2xx or the retry budget runs out.
 */
export async function startDispatcher(o: DispatcherOptions): Promise<Dispatcher> {
  const { sql, log, settings } = o;
  const registers = o.registry ? [o.registry] : [];
  const delivered = new Counter({
    name: 'matterflow_callbacks_delivered_total',
    help: 'Callbacks to source systems acknowledged with a 2xx',
    registers,
  });
  const failedAttempts = new Counter({
    name: 'matterflow_callback_attempts_failed_total',
    help: 'Callback attempts that were not acknowledged and will be retried',
    registers,
  });
  const failed = new Counter({
    name: 'matterflow_callbacks_failed_total',
    help: 'Callbacks given up after their retry budget',
    registers,
  });
  // A send may take the whole timeout; the lease outlives it, so only a dead dispatcher's rows are retaken.
  const leaseMs = settings.timeoutMs * 2 + 5_000;
  const policy = {
    baseMs: settings.backoffBaseMs,
    capMs: settings.backoffCapMs,
    retryForMs: settings.retryForMs,
  };
  let running = true;
  let wake: (() => void) | null = null;
  const nudge = () => wake?.();

  const listener = o.listen ? await sql.listen(OUTBOX_CHANNEL, nudge) : null;

  async function attempt(c: ClaimedCallback): Promise<void> {
    const startedAt = new Date();
    const result = await send(c);
    const durationMs = Date.now() - startedAt.getTime();
    const record = {
      startedAt,
      durationMs,
      httpStatus: 'status' in result ? result.status : null,
      error: 'error' in result ? result.error : null,
    };
    const ok = 'status' in result && result.status >= 200 && result.status < 300;
    let outcome: AttemptOutcome;
    if (ok) {
      outcome = { kind: 'delivered' };
    } else if ('refused' in result) {
      outcome = { kind: 'failed', reason: result.error };
    } else {
      const step = nextStep(c.attempt, c.budgetStartedAt.getTime(), Date.now(), policy);
      outcome = step.giveUp
        ? {
            kind: 'failed',
            reason: `not acknowledged within ${Math.round(settings.retryForMs / 3_600_000)} h of retries`,
          }
        : { kind: 'retry', at: new Date(step.retryAt) };
    }
    const applied = await recordAttempt(sql, c, record, outcome);
    if (!applied) return;
    if (outcome.kind === 'delivered') delivered.inc();
    else if (outcome.kind === 'retry') failedAttempts.inc();
    else {
      failed.inc();
      log.error(
        { callbackId: c.id, source: c.source, attempts: c.attempt, reason: outcome.reason },
        'callback given up',
      );
    }
  }

  async function send(c: ClaimedCallback): Promise<PostResult | Refused> {
    // Read at each attempt, so a corrected URL or secret applies to callbacks already waiting.
    const target = await callbackTarget(sql, c.source);
    if (!target) return { error: 'the source has no active callback URL' };
    const refused = await o.outbound.refusalAtSend(target.url);
    if (refused) return { error: `address not allowed: ${refused}`, refused: true };
    if (!target.sealedSecret) return { error: 'the source has no callback secret to sign with' };
    let secret: string;
    try {
      secret = o.secrets.open(target.sealedSecret, callbackSecretContext(c.source));
    } catch (err) {
      return { error: `the callback secret does not open: ${(err as Error).message}` };
    }
    const body = JSON.stringify(c.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    return postJson(
      target.url,
      {
        [CALLBACK_ID_HEADER]: c.id,
        [CALLBACK_TIMESTAMP_HEADER]: String(timestamp),
        [CALLBACK_SIGNATURE_HEADER]: signCallback(secret, timestamp, body),
        'user-agent': 'matterflow-callback/1',
      },
      body,
      settings.timeoutMs,
    );
  }

  /** Until `ms` pass, a NOTIFY arrives or the dispatcher stops, whichever is first. */
  function pause(ms: number): Promise<void> {
    if (ms <= 0 || !running) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  async function sleepUntilDue(): Promise<void> {
    const due = await nextDueAt(sql);
    await pause(Math.min(settings.pollMs, due ? due.getTime() - Date.now() : settings.pollMs));
  }

  async function loop(): Promise<void> {
    while (running) {
      try {
        const due = await claimDueCallbacks(sql, BATCH, leaseMs);
        await Promise.all(
          due.map((c) =>
            attempt(c).catch((err) => log.error({ err, callbackId: c.id }, 'callback attempt not recorded')),
          ),
        );
        if (due.length < BATCH) await sleepUntilDue();
      } catch (err) {
        // The database may be away for a moment; the rows wait, leased or due, and nothing is lost.
        log.error({ err }, 'callback dispatcher pass failed');
        await pause(settings.pollMs);
      }
    }
  }

  const done = loop();
  log.info({ listen: o.listen, pollMs: settings.pollMs }, 'callback dispatcher running');
  let stopped: Promise<void> | null = null;
  return {
    stop() {
      stopped ??= (async () => {
        running = false;
        nudge();
        await done;
        await listener?.unlisten();
      })();
      return stopped;
    },
  };
}
