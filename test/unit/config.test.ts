import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, ConfigError, loadConfig, loadLauncherConfig } from '../../src/config.js';

const LINK_SECRET = 'l'.repeat(32);

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected loadConfig(${JSON.stringify(env)}) to throw a ConfigError`);
}

describe('loadConfig', () => {
  it('when the hourly reminder cap exceeds the daily one, then it refuses to start and says so', () => {
    expect(() =>
      loadConfig({ LINK_SECRET, REMINDER_CAP_PER_HOUR: '50', REMINDER_CAP_PER_DAY: '40' }),
    ).toThrow('REMINDER_CAP_PER_HOUR cannot exceed REMINDER_CAP_PER_DAY');
    expect(
      loadConfig({ LINK_SECRET, REMINDER_CAP_PER_HOUR: '5', REMINDER_CAP_PER_DAY: '40' }).reminderCaps,
    ).toEqual({
      perHour: 5,
      perDay: 40,
    });
  });

  it('when only LINK_SECRET is set, then every other setting takes its default', () => {
    expect(loadConfig({ LINK_SECRET })).toEqual({
      databaseUrl: undefined,
      temporalAddress: '127.0.0.1:7233',
      temporalExternal: false,
      namespace: 'default',
      taskQueue: 'matterflow',
      host: '127.0.0.1',
      port: 3000,
      publicBaseUrl: 'http://127.0.0.1:3000',
      reminderCaps: { perHour: 20, perDay: 100 },
      transferAlertAfter: 3,
      channels: {
        timeoutMs: 10_000,
        email: null,
        xmpp: null,
        wecom: null,
        wecomBaseUrl: 'https://qyapi.weixin.qq.com',
        dingtalk: null,
        dingtalkBaseUrl: 'https://oapi.dingtalk.com',
        feishu: null,
        feishuBaseUrl: 'https://open.feishu.cn',
        slack: null,
        callbacks: { slack: null, wecom: null, feishu: null, dingtalk: null },
      },
      adminToken: undefined,
      linkSecret: LINK_SECRET,
      webhookSecret: LINK_SECRET,
      actionLinkTtlMs: 7 * 24 * 3_600_000,
      webhookTimeoutMs: 10_000,
      outboundAllowHosts: [],
      actionTimeoutMs: 15_000,
      dbPoolMax: 10,
      logLevel: 'info',
      callbackSecretKey: LINK_SECRET,
      sourceCallbacks: {
        timeoutMs: 10_000,
        pollMs: 5_000,
        backoffBaseMs: 1_000,
        backoffCapMs: 300_000,
        retryForMs: 24 * 3_600_000,
      },
      workerMetricsPort: undefined,
      temporalMetricsAddress: undefined,
      shutdownGraceMs: 20_000,
      worker: {
        maxCachedWorkflows: 3000,
        maxConcurrentWorkflowTaskExecutions: 40,
        maxConcurrentActivityTaskExecutions: 100,
        maxConcurrentLocalActivityExecutions: 100,
        stickyQueueScheduleToStartTimeoutMs: 3000,
        workflowBundlePath: undefined,
      },
    });
  });

  it('when OUTBOUND_ALLOW_HOSTS lists hosts, then each is read as a host with its port or with any port', () => {
    expect(
      loadConfig({ LINK_SECRET, OUTBOUND_ALLOW_HOSTS: ' hooks.Internal:8443, 10.0.0.7 ,[::1]:80' })
        .outboundAllowHosts,
    ).toEqual([
      { host: 'hooks.internal', port: 8443 },
      { host: '10.0.0.7', port: null },
      { host: '[::1]', port: 80 },
    ]);
    expect(configError({ LINK_SECRET, OUTBOUND_ALLOW_HOSTS: 'http://hooks.internal/' }).message).toContain(
      'OUTBOUND_ALLOW_HOSTS',
    );
    expect(configError({ LINK_SECRET, OUTBOUND_ALLOW_HOSTS: 'hooks.internal:70000' }).message).toContain(
      'OUTBOUND_ALLOW_HOSTS',
    );
  });

  it('when callbacks would be retried for less than a day, or back off from above their cap, then it refuses', () => {
    expect(configError({ LINK_SECRET, CALLBACK_RETRY_FOR: 'PT12H' }).message).toContain(
      'CALLBACK_RETRY_FOR must be at least P1D',
    );
    expect(
      configError({ LINK_SECRET, CALLBACK_BACKOFF_BASE_MS: '5000', CALLBACK_BACKOFF_CAP_MS: '1000' }).message,
    ).toContain('CALLBACK_BACKOFF_BASE_MS cannot exceed CALLBACK_BACKOFF_CAP_MS');
    expect(loadConfig({ LINK_SECRET, CALLBACK_SECRET_KEY: 'k'.repeat(32) }).callbackSecretKey).toBe(
      'k'.repeat(32),
    );
  });

  it('when the env is given explicitly, then process.env is not consulted', () => {
    const saved = process.env.PORT;
    process.env.PORT = '4321';
    try {
      expect(loadConfig({ LINK_SECRET }).port).toBe(3000);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  it('when LINK_SECRET is missing or empty, then a ConfigError says it is required', () => {
    expect(configError({}).message).toMatch(/LINK_SECRET is required/);
    expect(configError({ LINK_SECRET: '' }).message).toMatch(/LINK_SECRET is required/);
  });

  it('when LINK_SECRET is shorter than 32 characters, then a ConfigError names it', () => {
    expect(configError({ LINK_SECRET: 'x'.repeat(31) }).message).toContain('LINK_SECRET');
  });

  it('when PORT is a numeric string, then it is converted to a number', () => {
    const config = loadConfig({ LINK_SECRET, PORT: '8080' });
    expect(config.port).toBe(8080);
    expect(typeof config.port).toBe('number');
    expect(config.publicBaseUrl).toBe('http://127.0.0.1:8080');
  });

  it('when PORT is 0 or 65535, then it is accepted', () => {
    expect(loadConfig({ LINK_SECRET, PORT: '0' }).port).toBe(0);
    expect(loadConfig({ LINK_SECRET, PORT: '65535' }).port).toBe(65535);
  });

  it('when PORT is empty, then the default is used', () => {
    expect(loadConfig({ LINK_SECRET, PORT: '' }).port).toBe(3000);
  });

  it.each(['abc', '65536', '-1', 'http'])('when PORT is %j, then a ConfigError names PORT', (port) => {
    expect(configError({ LINK_SECRET, PORT: port }).message).toContain('PORT');
  });

  it.each(['3000.5', '1e3', 'true', '80abc'])(
    'when PORT is %j (not a plain whole number), then it is rejected rather than silently coerced',
    (port) => {
      expect(configError({ LINK_SECRET, PORT: port }).message).toContain('PORT');
    },
  );

  it('when PUBLIC_BASE_URL has trailing slashes, then they are trimmed', () => {
    expect(loadConfig({ LINK_SECRET, PUBLIC_BASE_URL: 'https://mf.example/' }).publicBaseUrl).toBe(
      'https://mf.example',
    );
    expect(loadConfig({ LINK_SECRET, PUBLIC_BASE_URL: 'https://mf.example/base//' }).publicBaseUrl).toBe(
      'https://mf.example/base',
    );
  });

  it('when PUBLIC_BASE_URL is not http(s), then a ConfigError names it', () => {
    expect(configError({ LINK_SECRET, PUBLIC_BASE_URL: 'ftp://mf.example' }).message).toContain(
      'PUBLIC_BASE_URL',
    );
  });

  it('when HOST and PORT are set without PUBLIC_BASE_URL, then the base URL is built from them', () => {
    expect(loadConfig({ LINK_SECRET, HOST: '0.0.0.0', PORT: '9000' }).publicBaseUrl).toBe(
      'http://0.0.0.0:9000',
    );
  });

  it('when TEMPORAL_ADDRESS is set, then it is used and temporalExternal is true', () => {
    const config = loadConfig({ LINK_SECRET, TEMPORAL_ADDRESS: 'temporal.internal:7233' });
    expect(config.temporalAddress).toBe('temporal.internal:7233');
    expect(config.temporalExternal).toBe(true);
  });

  it('when TEMPORAL_ADDRESS is empty, then it counts as unset and temporalExternal is false', () => {
    const config = loadConfig({ LINK_SECRET, TEMPORAL_ADDRESS: '' });
    expect(config.temporalExternal).toBe(false);
    expect(config.temporalAddress).toBe('127.0.0.1:7233');
  });

  it('when WEBHOOK_SECRET is set, then it is used instead of LINK_SECRET', () => {
    expect(loadConfig({ LINK_SECRET, WEBHOOK_SECRET: 'w'.repeat(16) }).webhookSecret).toBe('w'.repeat(16));
  });

  it('when ACTION_LINK_TTL is a fixed duration, then it is converted to ms; when it uses months, then ConfigError', () => {
    expect(loadConfig({ LINK_SECRET, ACTION_LINK_TTL: 'PT12H' }).actionLinkTtlMs).toBe(12 * 3_600_000);
    expect(configError({ LINK_SECRET, ACTION_LINK_TTL: 'P1M' }).message).toContain('ACTION_LINK_TTL');
  });

  it('when LOG_LEVEL is unknown, then a ConfigError names it', () => {
    expect(configError({ LINK_SECRET, LOG_LEVEL: 'loud' }).message).toContain('LOG_LEVEL');
    expect(loadConfig({ LINK_SECRET, LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
  });

  it('when the config is loaded, then the returned object is frozen', () => {
    const config = loadConfig({ LINK_SECRET });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.port).toBe(3000);
  });

  it('when unknown variables are present, then they are ignored', () => {
    expect(loadConfig({ LINK_SECRET, SOMETHING_ELSE: 'x' }).port).toBe(3000);
  });
});

describe('loadLauncherConfig', () => {
  it('when nothing is set, then it returns frozen defaults', () => {
    const config = loadLauncherConfig({});
    expect(config).toEqual({ DATA_DIR: '.data', TEMPORAL_DEV_PORT: 7233, TEMPORAL_UI_PORT: 8233 });
    expect(Object.isFrozen(config)).toBe(true);
  });
});

describe('CONFIG_KEYS', () => {
  it('lists the variables of both the service and the launcher', () => {
    expect(CONFIG_KEYS).toEqual(
      expect.arrayContaining(['LINK_SECRET', 'PORT', 'PUBLIC_BASE_URL', 'DATA_DIR']),
    );
  });
});
