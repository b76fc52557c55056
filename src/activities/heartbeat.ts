import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { ACTIVITY_HEARTBEAT_TIMEOUT_MS } from './contracts.js';

/** Well inside the timeout; the SDK throttles what it sends to the server anyway. */
const BEAT_EVERY_MS = ACTIVITY_HEARTBEAT_TIMEOUT_MS / 5;

/** Every activity beats while it runs, whatever it awaits (a vendor, the database, a send slot). */
export const heartbeatWhileRunning: ActivityInterceptorsFactory = (ctx: Context) => ({
  inbound: {
    async execute(input, next) {
      const beat = setInterval(() => ctx.heartbeat(), BEAT_EVERY_MS);
      try {
        return await next(input);
      } finally {
        clearInterval(beat);
      }
    },
  },
});
