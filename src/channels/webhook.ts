import { SIGNATURE_HEADER, signBody } from '../security/signature.js';
import type { Channel, ChannelTarget, DeliveryResult, OutboundMessage } from './channel.js';

export interface WebhookOptions {
  /** Used when the target has no secret of its own. */
  defaultSecret: string;
  timeoutMs: number;
  now?: () => Date;
}

export function webhookBody(message: OutboundMessage, sentAt: Date): string {
  return JSON.stringify({
    type: message.type,
    matter: message.matter,
    handler: message.handler,
    actions: message.actions,
    data: message.data,
    idempotencyKey: message.idempotencyKey,
    sentAt: sentAt.toISOString(),
  });
}

function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429;
}

export function webhookChannel(options: WebhookOptions): Channel {
  const now = options.now ?? (() => new Date());
  return {
    type: 'webhook',
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      const secret =
        typeof target.settings.secret === 'string' ? target.settings.secret : options.defaultSecret;
      const body = webhookBody(message, now());
      try {
        const res = await fetch(target.address, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': message.idempotencyKey,
            [SIGNATURE_HEADER]: signBody(secret, body),
            'user-agent': 'matterflow-webhook/1',
          },
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        await res.body?.cancel();
        if (res.ok) return { ok: true, httpStatus: res.status, retryable: false };
        return {
          ok: false,
          httpStatus: res.status,
          error: `receiver answered ${res.status}`,
          retryable: retryableStatus(res.status),
        };
      } catch (err) {
        return { ok: false, error: `request failed: ${(err as Error).message}`, retryable: true };
      }
    },
  };
}
