/**
 * Which vendor channels this deployment can send through, from configuration. Robots and Teams
 * webhooks carry their own address and secret per handler, so they are always there; an app channel
 * is there only when all of its credentials are set.
 */
export interface ChannelSettings {
  timeoutMs: number;
  email: {
    host: string;
    port: number;
    secure: boolean;
    auth?: { user: string; pass: string };
    from: string;
  } | null;
  xmpp: {
    service: string;
    domain: string;
    username: string;
    password: string;
    /** Only for a server on a trusted network that offers no TLS; the password then travels in clear. */
    allowPlaintext: boolean;
  } | null;
  wecom: { baseUrl: string; corpId: string; corpSecret: string; agentId: number } | null;
  wecomBaseUrl: string;
  dingtalk: {
    baseUrl: string;
    apiBaseUrl: string;
    appKey: string;
    appSecret: string;
    agentId: number;
    /** With a template, notices that carry buttons go as interactive cards, which can be updated. */
    card?: { templateId: string; callbackRouteKey: string | null } | null;
  } | null;
  dingtalkBaseUrl: string;
  feishu: { baseUrl: string; appId: string; appSecret: string } | null;
  feishuBaseUrl: string;
  slack: { baseUrl: string; botToken: string } | null;
  /** Secrets that verify what a vendor posts back when a handler presses a card button; null: no route. */
  callbacks: {
    slack: { signingSecret: string } | null;
    /** The CorpID is WeCom's receiveId: every callback is encrypted for it. */
    wecom: { token: string; encodingAesKey: string; corpId: string } | null;
    /** At least one is set; with the Encrypt Key, Feishu encrypts and signs every callback. */
    feishu: { encryptKey: string | null; verificationToken: string | null } | null;
    /** The AppKey is DingTalk's receiveId for an in-house app's callbacks. */
    dingtalk?: { token: string; aesKey: string; appKey: string } | null;
  };
}

export const CHANNEL_ENV_KEYS = [
  'SMTP_URL',
  'SMTP_FROM',
  'XMPP_SERVICE',
  'XMPP_JID',
  'XMPP_PASSWORD',
  'XMPP_ALLOW_PLAINTEXT',
  'WECOM_BASE_URL',
  'WECOM_CORP_ID',
  'WECOM_APP_SECRET',
  'WECOM_AGENT_ID',
  'DINGTALK_OAPI_URL',
  'DINGTALK_API_URL',
  'DINGTALK_APP_KEY',
  'DINGTALK_APP_SECRET',
  'DINGTALK_AGENT_ID',
  'DINGTALK_CARD_TEMPLATE_ID',
  'DINGTALK_CARD_CALLBACK_ROUTE_KEY',
  'FEISHU_BASE_URL',
  'FEISHU_APP_ID',
  'FEISHU_APP_SECRET',
  'SLACK_BASE_URL',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'WECOM_CALLBACK_TOKEN',
  'WECOM_ENCODING_AES_KEY',
  'FEISHU_ENCRYPT_KEY',
  'FEISHU_VERIFICATION_TOKEN',
  'DINGTALK_CALLBACK_TOKEN',
  'DINGTALK_CALLBACK_AES_KEY',
] as const;

type Env = Partial<Record<(typeof CHANNEL_ENV_KEYS)[number], string>>;

export class ChannelSettingsError extends Error {}

/** All of the keys, or none: half a vendor's credentials is a mistake worth stopping for. */
function group<K extends keyof Env>(env: Env, keys: K[]): Record<K, string> | null {
  const set = keys.filter((k) => env[k]);
  if (set.length === 0) return null;
  if (set.length < keys.length) {
    const missing = keys.filter((k) => !env[k]);
    throw new ChannelSettingsError(`${set.join(', ')} set without ${missing.join(', ')}`);
  }
  return Object.fromEntries(keys.map((k) => [k, env[k]!])) as Record<K, string>;
}

function flag(key: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new ChannelSettingsError(`${key} must be true or false`);
}

function agentId(key: string, value: string): number {
  if (!/^\d{1,12}$/.test(value)) throw new ChannelSettingsError(`${key} must be a whole number`);
  return Number(value);
}

function httpsBase(key: string, value: string | undefined, fallback: string): string {
  const url = value || fallback;
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new ChannelSettingsError(`${key} must be an http(s) URL`);
  return url.replace(/\/+$/, '');
}

/** WXBizMsgCrypt's EncodingAESKey: base64 of 32 bytes without its padding. */
function checkAesKey(key: string, value: string): void {
  if (!/^[A-Za-z0-9]{43}$/.test(value))
    throw new ChannelSettingsError(`${key} must be 43 letters and digits`);
}

function callbackSettings(env: Env): ChannelSettings['callbacks'] {
  const slack = group(env, ['SLACK_SIGNING_SECRET']);
  const wecom = group(env, ['WECOM_CALLBACK_TOKEN', 'WECOM_ENCODING_AES_KEY']);
  if (wecom && !env.WECOM_CORP_ID) {
    throw new ChannelSettingsError('WECOM_CALLBACK_TOKEN, WECOM_ENCODING_AES_KEY set without WECOM_CORP_ID');
  }
  if (wecom) checkAesKey('WECOM_ENCODING_AES_KEY', wecom.WECOM_ENCODING_AES_KEY);
  const feishuSet = env.FEISHU_ENCRYPT_KEY || env.FEISHU_VERIFICATION_TOKEN;
  const dingtalk = group(env, ['DINGTALK_CALLBACK_TOKEN', 'DINGTALK_CALLBACK_AES_KEY']);
  if (dingtalk && !env.DINGTALK_APP_KEY) {
    throw new ChannelSettingsError(
      'DINGTALK_CALLBACK_TOKEN, DINGTALK_CALLBACK_AES_KEY set without DINGTALK_APP_KEY',
    );
  }
  if (dingtalk) checkAesKey('DINGTALK_CALLBACK_AES_KEY', dingtalk.DINGTALK_CALLBACK_AES_KEY);
  return {
    slack: slack && { signingSecret: slack.SLACK_SIGNING_SECRET },
    wecom: wecom && {
      token: wecom.WECOM_CALLBACK_TOKEN,
      encodingAesKey: wecom.WECOM_ENCODING_AES_KEY,
      corpId: env.WECOM_CORP_ID!,
    },
    feishu: feishuSet
      ? {
          encryptKey: env.FEISHU_ENCRYPT_KEY || null,
          verificationToken: env.FEISHU_VERIFICATION_TOKEN || null,
        }
      : null,
    dingtalk: dingtalk && {
      token: dingtalk.DINGTALK_CALLBACK_TOKEN,
      aesKey: dingtalk.DINGTALK_CALLBACK_AES_KEY,
      appKey: env.DINGTALK_APP_KEY!,
    },
  };
}

function dingtalkCard(env: Env): { templateId: string; callbackRouteKey: string | null } | null {
  if (!env.DINGTALK_CARD_TEMPLATE_ID) {
    if (env.DINGTALK_CARD_CALLBACK_ROUTE_KEY) {
      throw new ChannelSettingsError(
        'DINGTALK_CARD_CALLBACK_ROUTE_KEY set without DINGTALK_CARD_TEMPLATE_ID',
      );
    }
    return null;
  }
  if (!env.DINGTALK_APP_KEY) {
    throw new ChannelSettingsError('DINGTALK_CARD_TEMPLATE_ID set without DINGTALK_APP_KEY');
  }
  return {
    templateId: env.DINGTALK_CARD_TEMPLATE_ID,
    callbackRouteKey: env.DINGTALK_CARD_CALLBACK_ROUTE_KEY || null,
  };
}

function smtpFrom(url: string, from: string): NonNullable<ChannelSettings['email']> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ChannelSettingsError('SMTP_URL must look like smtp://user:password@host:587');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new ChannelSettingsError('SMTP_URL must start with smtp:// or smtps://');
  }
  const secure = parsed.protocol === 'smtps:';
  const user = decodeURIComponent(parsed.username);
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : secure ? 465 : 587,
    secure,
    ...(user ? { auth: { user, pass: decodeURIComponent(parsed.password) } } : {}),
    from,
  };
}

export function channelSettingsFrom(env: Env, timeoutMs: number): ChannelSettings {
  const smtp = group(env, ['SMTP_URL', 'SMTP_FROM']);
  const xmpp = group(env, ['XMPP_SERVICE', 'XMPP_JID', 'XMPP_PASSWORD']);
  const wecom = group(env, ['WECOM_CORP_ID', 'WECOM_APP_SECRET', 'WECOM_AGENT_ID']);
  const dingtalk = group(env, ['DINGTALK_APP_KEY', 'DINGTALK_APP_SECRET', 'DINGTALK_AGENT_ID']);
  const dingtalkCardSettings = dingtalkCard(env);
  const feishu = group(env, ['FEISHU_APP_ID', 'FEISHU_APP_SECRET']);
  const slack = group(env, ['SLACK_BOT_TOKEN']);
  const wecomBaseUrl = httpsBase('WECOM_BASE_URL', env.WECOM_BASE_URL, 'https://qyapi.weixin.qq.com');
  const dingtalkBaseUrl = httpsBase('DINGTALK_OAPI_URL', env.DINGTALK_OAPI_URL, 'https://oapi.dingtalk.com');
  const dingtalkApiUrl = httpsBase('DINGTALK_API_URL', env.DINGTALK_API_URL, 'https://api.dingtalk.com');
  const feishuBaseUrl = httpsBase('FEISHU_BASE_URL', env.FEISHU_BASE_URL, 'https://open.feishu.cn');
  const slackBaseUrl = httpsBase('SLACK_BASE_URL', env.SLACK_BASE_URL, 'https://slack.com/api');
  let xmppSettings: ChannelSettings['xmpp'] = null;
  if (xmpp) {
    const [username, domain, ...rest] = xmpp.XMPP_JID.split('@');
    if (!username || !domain || rest.length > 0)
      throw new ChannelSettingsError('XMPP_JID must look like bot@example.com');
    xmppSettings = {
      service: xmpp.XMPP_SERVICE,
      domain,
      username,
      password: xmpp.XMPP_PASSWORD,
      allowPlaintext: flag('XMPP_ALLOW_PLAINTEXT', env.XMPP_ALLOW_PLAINTEXT),
    };
  }
  return {
    timeoutMs,
    email: smtp ? smtpFrom(smtp.SMTP_URL, smtp.SMTP_FROM) : null,
    xmpp: xmppSettings,
    wecom: wecom && {
      baseUrl: wecomBaseUrl,
      corpId: wecom.WECOM_CORP_ID,
      corpSecret: wecom.WECOM_APP_SECRET,
      agentId: agentId('WECOM_AGENT_ID', wecom.WECOM_AGENT_ID),
    },
    wecomBaseUrl,
    dingtalk: dingtalk && {
      baseUrl: dingtalkBaseUrl,
      apiBaseUrl: dingtalkApiUrl,
      appKey: dingtalk.DINGTALK_APP_KEY,
      appSecret: dingtalk.DINGTALK_APP_SECRET,
      agentId: agentId('DINGTALK_AGENT_ID', dingtalk.DINGTALK_AGENT_ID),
      card: dingtalkCardSettings,
    },
    dingtalkBaseUrl,
    feishu: feishu && {
      baseUrl: feishuBaseUrl,
      appId: feishu.FEISHU_APP_ID,
      appSecret: feishu.FEISHU_APP_SECRET,
    },
    feishuBaseUrl,
    slack: slack && { baseUrl: slackBaseUrl, botToken: slack.SLACK_BOT_TOKEN },
    callbacks: callbackSettings(env),
  };
}

/** Channel types a handler may be given here: those the worker can send through. */
export function availableChannelTypes(s: ChannelSettings): string[] {
  const app: [string, unknown][] = [
    ['email', s.email],
    ['xmpp', s.xmpp],
    ['wecom', s.wecom],
    ['dingtalk', s.dingtalk],
    ['feishu', s.feishu],
    ['slack', s.slack],
  ];
  return [
    'webhook',
    'teams',
    'wecom-robot',
    'dingtalk-robot',
    'feishu-bot',
    ...app.filter(([, on]) => on !== null).map(([t]) => t),
  ];
}
