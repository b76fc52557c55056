import type { OutboundPolicy } from '../security/outbound-address.js';
import { SIGNATURE_HEADER, signBody } from '../security/signature.js';
import type { Channel, ChannelTarget, DeliveryResult, OutboundMessage } from './channel.js';
import { deliver } from './vendor-http.js';

export interface WebhookOptions {
  /** Used when the target has no secret of its own. */
  defaultSecret: string;
  timeoutMs: number;
  /** Which receiver URLs may be called. */
  outbound: OutboundPolicy;
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

export function webhookChannel(options: WebhookOptions): Channel {
  const now = options.now ?? (() => new Date());
  return {
    type: 'webhook',
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      const secret =
        typeof target.settings.secret === 'string' ? target.settings.secret : options.defaultSecret;
      const body = webhookBody(message, now());
      return deliver(
        'receiver',
        {
          url: target.address,
          headers: {
            'idempotency-key': message.idempotencyKey,
            [SIGNATURE_HEADER]: signBody(secret, body),
            'user-agent': 'matterflow-webhook/1',
          },
          body,
        },
        options.timeoutMs,
        options.outbound,
      );
    },
  };
}
