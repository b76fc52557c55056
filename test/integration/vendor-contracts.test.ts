import { describe, expect, it } from 'vitest';
import type { Channel, ChannelTarget, OutboundMessage } from '../../src/channels/channel.js';
import { configuredChannels } from '../../src/channels/configured.js';
import { dingtalkRobotChannel } from '../../src/channels/dingtalk.js';
import { feishuBotChannel } from '../../src/channels/feishu.js';
import type { ChannelSettings } from '../../src/channels/settings.js';
import { allowingOnly } from '../support/outbound.js';
import { completedNotice, outboundMessage, purchaseOrderReminder } from '../support/outbound-message.js';
import {
  dingtalkVendor,
  feishuVendor,
  slackVendor,
  teamsWorkflowVendor,
  useVerifyingVendor,
  type VerifyingVendor,
  webhookReceiver,
  wecomVendor,
} from '../support/verifying-vendors.js';

/*
 * Each adapter sends real notices to a receiver that checks them as the vendor would (path, body shape,
 * signature or credential); then, holding a wrong secret, it must be refused as the vendor refuses and
 * report that as a failure no retry can mend.
 */

const WEBHOOK_SECRET = 'webhook-secret-0123456789';
const WEBHOOK_PATH = '/hooks/li.wei';
const WECOM = { corpId: 'ww8f2d4c6a1b3e5f70', corpSecret: 'wecom-app-secret', agentId: 1000002 };
const WECOM_ROBOT_KEY = '693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa';
const DINGTALK = { appKey: 'dingkey0123', appSecret: 'ding-app-secret', agentId: 2_860_000_001 };
const DINGTALK_ROBOT = { token: 'ding-robot-token', secret: 'SEC3b9d0e6f1a+/=密钥' };
const FEISHU = { appId: 'cli_a1b2c3d4e5f60001', appSecret: 'feishu-app-secret' };
const FEISHU_BOT = { token: '5e3d587e-d78e-4a07-bd07-265f269f86fd', secret: 'nIMtb7r3N9pkXyXdtAbx6e' };
const SLACK_TOKEN = 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy';
const TEAMS_PATH = '/workflows/6f0c1d2e3a4b/triggers/manual/paths/invoke';
const TEAMS_SIG = 'Zx3-q_9YbT0dM1vKp8rWc2uHs5aLn7eJf4gXoB6iQkE';
const teamsQuery = (sig: string) => `api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${sig}`;

const webhook = useVerifyingVendor(webhookReceiver({ path: WEBHOOK_PATH, secret: WEBHOOK_SECRET }));
const wecom = useVerifyingVendor(wecomVendor({ ...WECOM, robotKey: WECOM_ROBOT_KEY }));
const dingtalk = useVerifyingVendor(
  dingtalkVendor({ ...DINGTALK, robotToken: DINGTALK_ROBOT.token, robotSecret: DINGTALK_ROBOT.secret }),
);
const feishu = useVerifyingVendor(
  feishuVendor({ ...FEISHU, botToken: FEISHU_BOT.token, botSecret: FEISHU_BOT.secret }),
);
const slack = useVerifyingVendor(slackVendor(SLACK_TOKEN));
const teams = useVerifyingVendor(teamsWorkflowVendor({ path: TEAMS_PATH, sig: TEAMS_SIG }));

/** An exception filing: no actions, the matter's link and two attachments, each a link button. */
const filing = outboundMessage({
  type: 'exception.filed',
  actions: [],
  data: {
    description: '发票缺失 & 金额不符',
    attachments: [
      { name: '发票扫描件.pdf', url: 'https://files.example.com/inv/42.pdf' },
      { name: '合同（签字页）.pdf', url: 'https://files.example.com/contract/42.pdf' },
    ],
  },
});

/** A reminder with three actions and every character the markdown channels escape; its outcome; a filing. */
const NOTICES: [string, OutboundMessage][] = [
  ['reminder with three actions', purchaseOrderReminder],
  ['completion notice', completedNotice(purchaseOrderReminder)],
  ['exception filing with attachments', filing],
];

/** Settings as the worker reads them from its environment, every vendor pointed at its receiver. */
function settings(overrides: Partial<ChannelSettings> = {}): ChannelSettings {
  return {
    timeoutMs: 2_000,
    email: null,
    xmpp: null,
    wecom: { baseUrl: wecom.url, ...WECOM },
    wecomBaseUrl: wecom.url,
    dingtalk: { baseUrl: dingtalk.url, apiBaseUrl: dingtalk.url, ...DINGTALK },
    dingtalkBaseUrl: dingtalk.url,
    feishu: { baseUrl: feishu.url, ...FEISHU },
    feishuBaseUrl: feishu.url,
    slack: { baseUrl: `${slack.url}/api`, botToken: SLACK_TOKEN },
    callbacks: { slack: null, wecom: null, feishu: null },
    ...overrides,
  };
}

/** The channel of that type exactly as the worker builds it (src/channels/configured.ts). */
function channel(type: string, s: ChannelSettings = settings(), webhookSecret = WEBHOOK_SECRET): Channel {
  const { all } = configuredChannels(s, webhookSecret, allowingOnly(webhook.url, teams.url));
  const found = all.find((c) => c.type === type);
  if (!found) throw new Error(`no ${type} channel configured`);
  return found;
}

const refusals = (vendor: VerifyingVendor) => vendor.verdicts().filter((v) => !v.accepted);

function expectAllAccepted(vendor: VerifyingVendor, paths: string[]): void {
  expect(vendor.verdicts()).toEqual(paths.map((path) => expect.objectContaining({ path, accepted: true })));
}

const notRetryable = (error: string, httpStatus = 200) => ({
  ok: false,
  httpStatus,
  error,
  retryable: false,
});

describe('generic webhook: x-matterflow-signature', () => {
  const at = (): ChannelTarget => ({
    type: 'webhook',
    address: `${webhook.url}${WEBHOOK_PATH}`,
    settings: {},
  });

  it.each(NOTICES)('a %s is accepted by a receiver verifying the HMAC of the raw body', async (_, notice) => {
    expect(await channel('webhook').send(at(), notice)).toEqual({
      ok: true,
      httpStatus: 204,
      retryable: false,
    });
    expectAllAccepted(webhook, [WEBHOOK_PATH]);
  });

  it('signs with the target’s own secret when it has one', async () => {
    const result = await channel('webhook', settings(), 'some-other-default').send(
      { ...at(), settings: { secret: WEBHOOK_SECRET } },
      purchaseOrderReminder,
    );
    expect(result.ok).toBe(true);
    expectAllAccepted(webhook, [WEBHOOK_PATH]);
  });

  it('signed with a wrong secret, it is refused with 401 and reported as not retryable', async () => {
    const result = await channel('webhook', settings(), 'wrong-secret').send(at(), purchaseOrderReminder);
    expect(result).toEqual(notRetryable('receiver answered 401', 401));
    expect(refusals(webhook)).toEqual([expect.objectContaining({ reason: 'bad signature' })]);
  });
});

describe('WeCom app: gettoken then message/send', () => {
  const target: ChannelTarget = { type: 'wecom', address: 'LiSi', settings: {} };

  it.each(NOTICES)('a %s is accepted: token, agent and message shape', async (_, notice) => {
    const result = await channel('wecom').send(target, notice);
    expect(result).toMatchObject({ ok: true, httpStatus: 200 });
    expectAllAccepted(wecom, ['/cgi-bin/gettoken', '/cgi-bin/message/send']);
  });

  it('with a wrong app secret, gettoken answers errcode 40001, nothing is sent, and it is not retryable', async () => {
    const wrong = settings({ wecom: { baseUrl: wecom.url, ...WECOM, corpSecret: 'not-the-secret' } });
    const result = await channel('wecom', wrong).send(target, purchaseOrderReminder);
    expect(result).toEqual(notRetryable('wecom answered errcode 40001: invalid credential'));
    expect(wecom.verdicts()).toEqual([
      expect.objectContaining({ path: '/cgi-bin/gettoken', accepted: false, reason: 'corpsecret' }),
    ]);
  });
});

describe('WeCom group robot: webhook/send?key=', () => {
  const target: ChannelTarget = { type: 'wecom-robot', address: WECOM_ROBOT_KEY, settings: {} };

  it.each(NOTICES)('a %s is accepted as markdown within 4096 bytes', async (_, notice) => {
    expect(await channel('wecom-robot').send(target, notice)).toEqual({
      ok: true,
      httpStatus: 200,
      retryable: false,
    });
    expectAllAccepted(wecom, ['/cgi-bin/webhook/send']);
  });

  it('under a wrong key, it is refused with errcode 93000 and reported as not retryable', async () => {
    const result = await channel('wecom-robot').send({ ...target, address: 'removed-robot-key' }, filing);
    expect(result).toEqual(
      notRetryable('wecom answered errcode 93000: invalid webhook url, hint: [robot key not found]'),
    );
    expect(refusals(wecom)).toEqual([expect.objectContaining({ reason: 'key' })]);
  });
});

describe('DingTalk custom robot: robot/send with timestamp and sign', () => {
  const target: ChannelTarget = {
    type: 'dingtalk-robot',
    address: DINGTALK_ROBOT.token,
    settings: { secret: DINGTALK_ROBOT.secret },
  };

  it.each(NOTICES)('a %s is accepted: sign, timestamp and message shape', async (_, notice) => {
    expect(await channel('dingtalk-robot').send(target, notice)).toEqual({
      ok: true,
      httpStatus: 200,
      retryable: false,
    });
    expectAllAccepted(dingtalk, ['/robot/send']);
  });

  it('signed with a wrong secret, it is refused with errcode 310000 and reported as not retryable', async () => {
    const result = await channel('dingtalk-robot').send(
      { ...target, settings: { secret: 'SECwrong' } },
      purchaseOrderReminder,
    );
    expect(result).toEqual(notRetryable('dingtalk answered errcode 310000: sign not match'));
    expect(refusals(dingtalk)).toEqual([expect.objectContaining({ reason: 'sign' })]);
  });

  it('signed on a clock more than an hour off, it is refused as an invalid timestamp', async () => {
    const skewed = dingtalkRobotChannel({
      baseUrl: dingtalk.url,
      timeoutMs: 2_000,
      now: () => new Date(Date.now() - 2 * 3_600_000),
    });
    const result = await skewed.send(target, purchaseOrderReminder);
    expect(result).toEqual(notRetryable('dingtalk answered errcode 310000: invalid timestamp'));
    expect(refusals(dingtalk)).toEqual([expect.objectContaining({ reason: 'timestamp' })]);
  });
});

describe('DingTalk work notification: oauth2/accessToken then asyncsend_v2', () => {
  const target: ChannelTarget = { type: 'dingtalk', address: 'manager4220', settings: {} };

  it.each(NOTICES)(
    'a %s is accepted: token, agent, recipients and message within 2048 bytes',
    async (_, notice) => {
      const result = await channel('dingtalk').send(target, notice);
      expect(result).toEqual({
        ok: true,
        httpStatus: 200,
        retryable: false,
        ref: { taskId: '256271667526' },
      });
      expectAllAccepted(dingtalk, [
        '/v1.0/oauth2/accessToken',
        '/topapi/message/corpconversation/asyncsend_v2',
      ]);
    },
  );

  it('with a wrong app secret, the token is refused with 400, nothing is sent, and it is not retryable', async () => {
    const wrong = settings({
      dingtalk: { baseUrl: dingtalk.url, apiBaseUrl: dingtalk.url, ...DINGTALK, appSecret: 'wrong' },
    });
    const result = await channel('dingtalk', wrong).send(target, purchaseOrderReminder);
    expect(result).toEqual(notRetryable('dingtalk answered 400: invalidClientIdOrSecret', 400));
    expect(dingtalk.verdicts()).toEqual([
      expect.objectContaining({ path: '/v1.0/oauth2/accessToken', accepted: false }),
    ]);
  });
});

describe('Feishu app bot: tenant_access_token then im/v1/messages', () => {
  const target: ChannelTarget = { type: 'feishu', address: 'u-zhang', settings: {} };

  it.each(NOTICES)('a %s is accepted: bearer token and an interactive card', async (_, notice) => {
    const result = await channel('feishu').send(target, notice);
    expect(result).toMatchObject({ ok: true, httpStatus: 200, ref: { messageId: expect.any(String) } });
    expectAllAccepted(feishu, [
      '/open-apis/auth/v3/tenant_access_token/internal',
      '/open-apis/im/v1/messages',
    ]);
  });

  it('with a wrong app secret, the token is refused with code 10014, nothing is sent, and it is not retryable', async () => {
    const wrong = settings({ feishu: { baseUrl: feishu.url, ...FEISHU, appSecret: 'wrong' } });
    const result = await channel('feishu', wrong).send(target, purchaseOrderReminder);
    expect(result).toEqual(
      notRetryable('tenant_access_token: feishu answered code 10014: app secret invalid'),
    );
    expect(feishu.verdicts()).toEqual([
      expect.objectContaining({ accepted: false, reason: 'app credentials' }),
    ]);
  });
});

describe('Feishu custom bot: bot/v2/hook with timestamp and sign', () => {
  const target: ChannelTarget = {
    type: 'feishu-bot',
    address: FEISHU_BOT.token,
    settings: { secret: FEISHU_BOT.secret },
  };
  const SIGN_FAILED =
    'feishu answered code 19021: sign match fail or timestamp is not within one hour from current time';

  it.each(NOTICES)('a %s is accepted: sign, timestamp and card', async (_, notice) => {
    expect(await channel('feishu-bot').send(target, notice)).toEqual({
      ok: true,
      httpStatus: 200,
      retryable: false,
    });
    expectAllAccepted(feishu, [`/open-apis/bot/v2/hook/${FEISHU_BOT.token}`]);
  });

  it('signed with a wrong secret, it is refused with code 19021 and reported as not retryable', async () => {
    const result = await channel('feishu-bot').send({ ...target, settings: { secret: 'wrong' } }, filing);
    expect(result).toEqual(notRetryable(SIGN_FAILED));
    expect(refusals(feishu)).toEqual([expect.objectContaining({ reason: 'sign' })]);
  });

  it('signed on a clock more than an hour off, it is refused with code 19021 too', async () => {
    const skewed = feishuBotChannel({
      baseUrl: feishu.url,
      timeoutMs: 2_000,
      now: () => new Date(Date.now() + 2 * 3_600_000),
    });
    expect(await skewed.send(target, filing)).toEqual(notRetryable(SIGN_FAILED));
    expect(refusals(feishu)).toEqual([expect.objectContaining({ reason: 'sign' })]);
  });
});

describe('Slack: chat.postMessage with a bot token', () => {
  const target: ChannelTarget = { type: 'slack', address: 'C024BE91L', settings: {} };

  it.each(NOTICES)('a %s is accepted: bearer token and valid Block Kit', async (_, notice) => {
    const result = await channel('slack').send(target, notice);
    expect(result).toMatchObject({ ok: true, httpStatus: 200 });
    expectAllAccepted(slack, ['/api/chat.postMessage']);
  });

  it('with a wrong bot token, it is refused as invalid_auth and reported as not retryable', async () => {
    const wrong = settings({ slack: { baseUrl: `${slack.url}/api`, botToken: 'xoxb-revoked' } });
    const result = await channel('slack', wrong).send(target, purchaseOrderReminder);
    expect(result).toEqual(notRetryable('slack answered invalid_auth'));
    expect(refusals(slack)).toEqual([expect.objectContaining({ reason: 'token' })]);
  });
});

describe('Microsoft Teams: workflow webhook with sig in its query', () => {
  const target = (sig: string): ChannelTarget => ({
    type: 'teams',
    address: `${teams.url}${TEAMS_PATH}?${teamsQuery(sig)}`,
    settings: {},
  });

  it.each(NOTICES)('a %s is accepted, the query and its sig arriving untouched', async (_, notice) => {
    expect(await channel('teams').send(target(TEAMS_SIG), notice)).toEqual({
      ok: true,
      httpStatus: 202,
      retryable: false,
    });
    expectAllAccepted(teams, [TEAMS_PATH]);
    expect(teams.fake.requests[0]!.rawQuery).toBe(teamsQuery(TEAMS_SIG));
  });

  it('with a wrong sig, it is refused with 401 and reported as not retryable', async () => {
    const result = await channel('teams').send(target('Zx3-q_9YbT0dM1vKp8rWc2uHs5aLn7eJf4gXoB6iQkF'), filing);
    expect(result).toEqual(notRetryable('teams workflow answered 401', 401));
    expect(refusals(teams)).toEqual([expect.objectContaining({ reason: 'sig' })]);
  });
});
