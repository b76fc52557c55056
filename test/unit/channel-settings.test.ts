import { describe, expect, it } from 'vitest';
import {
  availableChannelTypes,
  ChannelSettingsError,
  channelSettingsFrom,
} from '../../src/channels/settings.js';

const AES_KEY = 'a'.repeat(43);
const WECOM_APP = { WECOM_CORP_ID: 'ww1', WECOM_APP_SECRET: 's', WECOM_AGENT_ID: '1000002' };
const DINGTALK_APP = {
  DINGTALK_APP_KEY: 'dingkey',
  DINGTALK_APP_SECRET: 's',
  DINGTALK_AGENT_ID: '2839445214',
};

describe('channel settings from configuration', () => {
  it('with nothing set, offers the channels that carry their own address and secret', () => {
    expect(availableChannelTypes(channelSettingsFrom({}, 5000))).toEqual([
      'webhook',
      'teams',
      'wecom-robot',
      'dingtalk-robot',
      'feishu-bot',
    ]);
  });

  it('offers an app channel once all its credentials are set, and reads the SMTP URL and the bot JID', () => {
    const s = channelSettingsFrom(
      {
        SMTP_URL: 'smtps://mailer:p%40ss@mail.bank.example',
        SMTP_FROM: 'matterflow@bank.example',
        XMPP_SERVICE: 'xmpp://im.bank.example:5222',
        XMPP_JID: 'matterflow@im.bank.example',
        XMPP_PASSWORD: 'x',
        WECOM_CORP_ID: 'ww1',
        WECOM_APP_SECRET: 's',
        WECOM_AGENT_ID: '1000002',
        WECOM_BASE_URL: 'https://wecom-proxy.bank.example/',
        SLACK_BOT_TOKEN: 'xoxb-1',
      },
      5000,
    );
    expect(s.email).toEqual({
      host: 'mail.bank.example',
      port: 465,
      secure: true,
      auth: { user: 'mailer', pass: 'p@ss' },
      from: 'matterflow@bank.example',
    });
    expect(s.xmpp).toEqual({
      service: 'xmpp://im.bank.example:5222',
      domain: 'im.bank.example',
      username: 'matterflow',
      password: 'x',
      allowPlaintext: false,
    });
    expect(s.wecom).toEqual({
      baseUrl: 'https://wecom-proxy.bank.example',
      corpId: 'ww1',
      corpSecret: 's',
      agentId: 1000002,
    });
    expect(availableChannelTypes(s)).toEqual(expect.arrayContaining(['email', 'xmpp', 'wecom', 'slack']));
    expect(availableChannelTypes(s)).not.toContain('dingtalk');
  });

  it.each([
    [{ WECOM_CORP_ID: 'ww1' }, 'WECOM_CORP_ID set without WECOM_APP_SECRET, WECOM_AGENT_ID'],
    [
      { DINGTALK_APP_KEY: 'k', DINGTALK_APP_SECRET: 's', DINGTALK_AGENT_ID: 'abc' },
      'DINGTALK_AGENT_ID must be a whole number',
    ],
    [{ SMTP_URL: 'http://mail', SMTP_FROM: 'a@b.c' }, 'SMTP_URL must start with smtp:// or smtps://'],
    [
      { XMPP_SERVICE: 'xmpp://h', XMPP_JID: 'no-domain', XMPP_PASSWORD: 'x' },
      'XMPP_JID must look like bot@example.com',
    ],
    [{ FEISHU_BASE_URL: 'ftp://x' }, 'FEISHU_BASE_URL must be an http(s) URL'],
    [
      { XMPP_SERVICE: 'xmpp://h', XMPP_JID: 'bot@h', XMPP_PASSWORD: 'x', XMPP_ALLOW_PLAINTEXT: 'yes' },
      'XMPP_ALLOW_PLAINTEXT must be true or false',
    ],
    [{ WECOM_CALLBACK_TOKEN: 't' }, 'WECOM_CALLBACK_TOKEN set without WECOM_ENCODING_AES_KEY'],
    [
      { WECOM_CALLBACK_TOKEN: 't', WECOM_ENCODING_AES_KEY: AES_KEY },
      'WECOM_CALLBACK_TOKEN, WECOM_ENCODING_AES_KEY set without WECOM_CORP_ID',
    ],
    [
      { ...WECOM_APP, WECOM_CALLBACK_TOKEN: 't', WECOM_ENCODING_AES_KEY: 'too-short' },
      'WECOM_ENCODING_AES_KEY must be 43 letters and digits',
    ],
    [
      { DINGTALK_CALLBACK_TOKEN: 't', DINGTALK_CALLBACK_AES_KEY: AES_KEY },
      'DINGTALK_CALLBACK_TOKEN, DINGTALK_CALLBACK_AES_KEY set without DINGTALK_APP_KEY',
    ],
    [
      { ...DINGTALK_APP, DINGTALK_CALLBACK_TOKEN: 't', DINGTALK_CALLBACK_AES_KEY: 'too-short' },
      'DINGTALK_CALLBACK_AES_KEY must be 43 letters and digits',
    ],
    [{ DINGTALK_CARD_TEMPLATE_ID: 'tpl' }, 'DINGTALK_CARD_TEMPLATE_ID set without DINGTALK_APP_KEY'],
    [
      { ...DINGTALK_APP, DINGTALK_CARD_CALLBACK_ROUTE_KEY: 'route' },
      'DINGTALK_CARD_CALLBACK_ROUTE_KEY set without DINGTALK_CARD_TEMPLATE_ID',
    ],
  ])('refuses half or malformed credentials: %j', (env, message) => {
    expect(() => channelSettingsFrom(env, 5000)).toThrow(ChannelSettingsError);
    expect(() => channelSettingsFrom(env, 5000)).toThrow(message);
  });

  it('has no callback routes until their secrets are set', () => {
    expect(channelSettingsFrom({}, 5000).callbacks).toEqual({
      slack: null,
      wecom: null,
      feishu: null,
      dingtalk: null,
    });
  });

  it('reads the callback secrets: Slack signing secret, WeCom token and key with the CorpID, either Feishu key', () => {
    const s = channelSettingsFrom(
      {
        ...WECOM_APP,
        SLACK_SIGNING_SECRET: 'slack-signing',
        WECOM_CALLBACK_TOKEN: 'wecom-token',
        WECOM_ENCODING_AES_KEY: AES_KEY,
        FEISHU_VERIFICATION_TOKEN: 'feishu-token',
      },
      5000,
    );
    expect(s.callbacks).toEqual({
      slack: { signingSecret: 'slack-signing' },
      wecom: { token: 'wecom-token', encodingAesKey: AES_KEY, corpId: 'ww1' },
      feishu: { encryptKey: null, verificationToken: 'feishu-token' },
      dingtalk: null,
    });
    expect(channelSettingsFrom({ FEISHU_ENCRYPT_KEY: 'k' }, 5000).callbacks.feishu).toEqual({
      encryptKey: 'k',
      verificationToken: null,
    });
  });

  it('reads the DingTalk card template and route key, and the callback token and key with the AppKey', () => {
    const s = channelSettingsFrom(
      {
        ...DINGTALK_APP,
        DINGTALK_CARD_TEMPLATE_ID: 'tpl-matter.schema',
        DINGTALK_CARD_CALLBACK_ROUTE_KEY: 'matterflow',
        DINGTALK_CALLBACK_TOKEN: 'ding-token',
        DINGTALK_CALLBACK_AES_KEY: AES_KEY,
      },
      5000,
    );
    expect(s.dingtalk?.card).toEqual({ templateId: 'tpl-matter.schema', callbackRouteKey: 'matterflow' });
    expect(s.callbacks.dingtalk).toEqual({ token: 'ding-token', aesKey: AES_KEY, appKey: 'dingkey' });
    expect(channelSettingsFrom(DINGTALK_APP, 5000).dingtalk?.card).toBeNull();
  });
});
