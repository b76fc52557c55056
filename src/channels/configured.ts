import type { OutboundPolicy } from '../security/outbound-address.js';
import type { Channel } from './channel.js';
import { dingtalkRobotChannel, dingtalkWorkChannel } from './dingtalk.js';
import { emailChannel } from './email.js';
import { feishuAppChannel, feishuBotChannel } from './feishu.js';
import type { ChannelSettings } from './settings.js';
import { slackChannel } from './slack.js';
import { teamsChannel } from './teams.js';
import { webhookChannel } from './webhook.js';
import { wecomAppChannel, wecomRobotChannel } from './wecom.js';
import { type XmppChannel, xmppChannel } from './xmpp.js';

export interface ConfiguredChannels {
  /** Every channel this deployment's configuration lets the worker send through. */
  all: Channel[];
  /** The one that keeps a connection open, and takes chat commands back. */
  xmpp: XmppChannel | null;
}

/**
 * Webhook and Teams URLs come through the API and are judged by `outbound`; the vendors' API bases
 * come from the operator's own configuration and are trusted as they are.
 */
export function configuredChannels(
  s: ChannelSettings,
  webhookSecret: string,
  outbound: OutboundPolicy,
): ConfiguredChannels {
  const timeoutMs = s.timeoutMs;
  const channels: Channel[] = [
    webhookChannel({ defaultSecret: webhookSecret, timeoutMs, outbound }),
    teamsChannel({ timeoutMs, outbound }),
    wecomRobotChannel({ baseUrl: s.wecomBaseUrl, timeoutMs }),
    dingtalkRobotChannel({ baseUrl: s.dingtalkBaseUrl, timeoutMs }),
    feishuBotChannel({ baseUrl: s.feishuBaseUrl, timeoutMs }),
  ];
  if (s.email) channels.push(emailChannel({ ...s.email, timeoutMs }));
  const xmpp = s.xmpp && xmppChannel({ ...s.xmpp, timeoutMs });
  if (xmpp) channels.push(xmpp);
  if (s.wecom) channels.push(wecomAppChannel({ ...s.wecom, timeoutMs }));
  if (s.dingtalk) channels.push(dingtalkWorkChannel({ ...s.dingtalk, timeoutMs }));
  if (s.feishu) channels.push(feishuAppChannel({ ...s.feishu, timeoutMs }));
  if (s.slack) channels.push(slackChannel({ ...s.slack, timeoutMs }));
  return { all: channels, xmpp };
}
