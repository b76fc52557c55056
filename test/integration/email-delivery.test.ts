/** A notice to a handler whose channel is e-mail: the real activity, real Postgres, a real SMTP server. */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { channelRegistry } from '../../src/channels/channel.js';
import { emailChannel } from '../../src/channels/email.js';
import { createSql, type Sql } from '../../src/db/client.js';
import { insertHandler } from '../../src/db/handlers.js';
import { reserveMatter } from '../../src/db/matters.js';
import { newSecret } from '../../src/security/secret-hash.js';
import { assignmentNotice, openMatter } from '../support/matter-state.js';
import { decodeWords, parseMail, partOf, SmtpReceiver } from '../support/smtp-receiver.js';

let sql: Sql;
let smtp: SmtpReceiver;

beforeAll(async () => {
  sql = createSql(inject('databaseUrl'), { max: 3 });
  smtp = await new SmtpReceiver().start();
});
afterAll(async () => {
  await smtp.stop();
  await sql.end({ timeout: 5 });
});

describe('e-mail notices', () => {
  it.each([
    ['zh-CN', '新事项', '完成'],
    ['en', 'New matter', 'Complete'],
  ])(
    'write to a %s handler in their language, with the action links as buttons',
    async (locale, event, button) => {
      const handlerId = `mail-${randomUUID().slice(0, 8)}`;
      const address = `${handlerId}@bank.example`;
      await insertHandler(sql, {
        id: handlerId,
        name: '赵六',
        supervisorId: null,
        timezone: 'Asia/Shanghai',
        locale,
        quietHours: null,
        reminderCaps: null,
        channels: [{ type: 'email', address, settings: {} }],
      });
      const state = openMatter({
        id: randomUUID(),
        externalId: randomUUID(),
        handlerId,
        title: '审批贷款 42',
        createdAt: new Date().toISOString(),
      });
      const workflowId = `matter:mail:${state.externalId}`;
      await reserveMatter(sql, { ...state, workflowId, requestHash: 'x' });
      const { deliverNotice } = createActivities({
        sql,
        channels: channelRegistry([
          emailChannel({
            host: '127.0.0.1',
            port: smtp.port,
            secure: false,
            from: 'matterflow@bank.example',
            timeoutMs: 5000,
          }),
        ]),
        publicBaseUrl: 'https://matterflow.bank.example',
        linkSecret: newSecret(48),
        actionLinkTtlMs: 86_400_000,
        reminderCaps: { perHour: 100, perDay: 100 },
        foldReminder: async () => {
          throw new Error('nothing here is over a cap');
        },
      });
      const notice = assignmentNotice(workflowId, state);
      expect(await new MockActivityEnvironment().run(deliverNotice, notice)).toBe('delivered');
      const mail = smtp.received.find((m) => m.to.includes(address));
      expect(mail).toBeDefined();
      const { headers, parts } = parseMail(mail!.raw);
      expect(decodeWords(headers.get('subject') ?? '')).toContain(event);
      const html = partOf(parts, 'text/html');
      expect(html).toContain(button);
      expect(html).toContain('https://matterflow.bank.example/a/');
    },
  );
});
