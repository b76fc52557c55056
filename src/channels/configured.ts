import type { Channel } from './channel.js';
import { dingtalkRobotChannel, dingtalkWorkChannel } from './dingtalk.js';
import { emailChannel } from './email.js';
import { feishuAppChannel, feishuBotChannel } from './feishu.js';
import type { ChannelSettings } from './settings.js';
import { slackChannel } from './slack.js';
import { teamsChannel } from './teams.js';
import { webhookChannel } from './webhook.js';
import { wecomAppChannel, wecomRobotChannel } from './wecom.js';
import { xmppChannel } from './xmpp.js';

/** Every channel this deployment's configuration lets the worker send through. */
export function configuredChannels(s: ChannelSettings, webhookSecret: string): Channel[] {
  const timeoutMs = s.timeoutMs;
  const channels: Channel[] = [
    webhookChannel({ defaultSecret: webhookSecret, timeoutMs }),
    teamsChannel({ timeoutMs }),
    wecomRobotChannel({ baseUrl: s.wecomBaseUrl, timeoutMs }),
    dingtalkRobotChannel({ baseUrl: s.dingtalkBaseUrl, timeoutMs }),
    feishuBotChannel({ baseUrl: s.feishuBaseUrl, timeoutMs }),
  ];
  if (s.email) channels.push(emailChannel({ ...s.email, timeoutMs }));
  if (s.xmpp) channels.push(xmppChannel({ ...s.xmpp, timeoutMs }));
  if (s.wecom) channels.push(wecomAppChannel({ ...s.wecom, timeoutMs }));
  if (s.dingtalk) channels.push(dingtalkWorkChannel({ ...s.dingtalk, timeoutMs }));
  if (s.feishu) channels.push(feishuAppChannel({ ...s.feishu, timeoutMs }));
  if (s.slack) channels.push(slackChannel({ ...s.slack, timeoutMs }));
  return channels;
}
