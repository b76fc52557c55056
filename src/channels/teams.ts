import type { OutboundPolicy } from '../security/outbound-address.js';
import type { Channel, ChannelTarget, DeliveryResult, OutboundMessage } from './channel.js';
import { headline, type Locale, linkButtons, priorityLabel, say, targetLocale } from './message-text.js';
import { deliver } from './vendor-http.js';

export interface TeamsOptions {
  timeoutMs: number;
  /** Which workflow webhook URLs may be called. */
  outbound: OutboundPolicy;
}

const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/** Teams renders DATE()/TIME() in each reader's locale; they take RFC 3339 without fractional seconds. */
function dueText(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const rfc3339 = `${at.toISOString().slice(0, 19)}Z`;
  return `{{DATE(${rfc3339}, SHORT)}} {{TIME(${rfc3339})}}`;
}

/**
 * Version 1.4: the "post to a channel when a webhook request is received" workflow shows cards of 1.5 as
 * "this card couldn't be displayed". Action.OpenUrl is the only kind of button a workflow card can carry.
 */
function teamsPayload(message: OutboundMessage, locale: Locale): Record<string, unknown> {
  const m = message.matter;
  const facts = [{ title: say(locale, 'notice.field.priority'), value: priorityLabel(m.priority, locale) }];
  if (m.dueAt) facts.unshift({ title: say(locale, 'notice.field.due'), value: dueText(m.dueAt) });
  const actions = linkButtons(message, locale).map(({ label, url }) => ({
    type: 'Action.OpenUrl',
    title: label,
    url,
  }));
  return {
    type: 'message',
    attachments: [
      {
        contentType: ADAPTIVE_CARD_CONTENT_TYPE,
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: headline(message.type, locale),
              isSubtle: true,
              size: 'Small',
              wrap: true,
            },
            {
              type: 'TextBlock',
              text: m.title,
              size: 'Large',
              weight: 'Bolder',
              wrap: true,
              ...(m.priority === 'urgent' ? { color: 'Attention' } : {}),
            },
            ...(m.details ? [{ type: 'TextBlock', text: m.details, wrap: true }] : []),
            { type: 'FactSet', facts },
          ],
          actions,
        },
      },
    ],
  };
}

export function teamsChannel(options: TeamsOptions): Channel {
  return {
    type: 'teams',
    // "If more than four requests are made in a second, the client connection is throttled" (incoming webhooks).
    sendLimits: [{ max: 4, perMs: 1_000 }],

    // https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      return deliver(
        'teams workflow',
        {
          url: target.address,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(teamsPayload(message, targetLocale(target))),
        },
        options.timeoutMs,
        options.outbound,
      );
    },
    // A workflow webhook answers 202 with no message id and offers no edit, so a sent card stays: no update.
  };
}
