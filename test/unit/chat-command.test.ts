import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chatProblemText, chatUsage } from '../../src/api/chat-commands.js';
import { parseChatCommand } from '../../src/channels/xmpp.js';

describe('parseChatCommand', () => {
  it('reads list and help, ignoring case and a leading slash', () => {
    expect(parseChatCommand('list')).toEqual({ kind: 'list' });
    expect(parseChatCommand('  LIST ')).toEqual({ kind: 'list' });
    expect(parseChatCommand('/help')).toEqual({ kind: 'help' });
    expect(parseChatCommand('Help me please')).toEqual({ kind: 'help' });
  });

  it('reads done with and without a comment, keeping the comment as written', () => {
    expect(parseChatCommand('done m-1')).toEqual({ kind: 'done', matterId: 'm-1', comment: null });
    expect(parseChatCommand('done m-1 all good')).toEqual({
      kind: 'done',
      matterId: 'm-1',
      comment: 'all good',
    });
    expect(parseChatCommand('done   m-1   paid,  see  ticket 42\n thanks ')).toEqual({
      kind: 'done',
      matterId: 'm-1',
      comment: 'paid,  see  ticket 42\n thanks',
    });
  });

  it('reads ack with exactly one id', () => {
    expect(parseChatCommand('ack m-7')).toEqual({ kind: 'ack', matterId: 'm-7' });
    expect(parseChatCommand('ack')).toMatchObject({ kind: 'invalid' });
    expect(parseChatCommand('ack m-7 m-8')).toMatchObject({ kind: 'invalid' });
  });

  it('reads reject with the whole reason, and asks for one when it is missing', () => {
    expect(parseChatCommand('reject m-2  not my product line')).toEqual({
      kind: 'reject',
      matterId: 'm-2',
      reason: 'not my product line',
    });
    expect(parseChatCommand('reject m-2')).toEqual({ kind: 'invalid', problem: 'usage', verb: 'reject' });
  });

  it('reads transfer with the new handler and the whole reason', () => {
    expect(parseChatCommand('transfer m-2 bob on leave until Monday')).toEqual({
      kind: 'transfer',
      matterId: 'm-2',
      toHandlerId: 'bob',
      reason: 'on leave until Monday',
    });
  });

  it('reads exception with its type and text', () => {
    expect(parseChatCommand('exception m-3 DATA_MISMATCH amounts differ by 10')).toEqual({
      kind: 'exception',
      matterId: 'm-3',
      eventType: 'DATA_MISMATCH',
      description: 'amounts differ by 10',
    });
  });

  it('accepts a full-width space between words, as Chinese keyboards type it', () => {
    expect(parseChatCommand('done\u3000m-1\u3000好的')).toEqual({
      kind: 'done',
      matterId: 'm-1',
      comment: '好的',
    });
  });

  it('answers a command missing its arguments with that command usage', () => {
    const cases: [string, string][] = [
      ['done', 'done <id> [comment]'],
      ['transfer m-2 bob', 'transfer <id> <handler> <reason>'],
      ['transfer m-2', 'transfer <id> <handler> <reason>'],
      ['exception m-3 DATA_MISMATCH', 'exception <id> <TYPE> <text>'],
      ['list everything', 'list'],
    ];
    for (const [text, usage] of cases) {
      const parsed = parseChatCommand(text);
      expect(parsed.kind, text).toBe('invalid');
      expect(parsed.kind === 'invalid' && chatProblemText(parsed, 'en'), text).toContain(`Usage: ${usage}`);
    }
  });

  it('answers an unknown or empty command with the list of commands', () => {
    const unknown = parseChatCommand('finish m-1');
    expect(unknown).toEqual({ kind: 'invalid', problem: 'unknown', word: 'finish' });
    expect(unknown.kind === 'invalid' && chatProblemText(unknown, 'en')).toBe(
      `Unknown command "finish".\n${chatUsage('en')}`,
    );
    const empty = parseChatCommand('   ');
    expect(empty.kind === 'invalid' && chatProblemText(empty, 'en')).toBe(
      `That is no command.\n${chatUsage('en')}`,
    );
  });

  it('refuses a message too long to be a command', () => {
    const parsed = parseChatCommand(`done m-1 ${'x'.repeat(5000)}`);
    expect(parsed.kind === 'invalid' && chatProblemText(parsed, 'en')).toBe(
      'A command is at most 4000 characters.',
    );
  });

  it('lists the commands in English with their syntax, and explains them in Chinese for a zh-CN handler', () => {
    expect(chatUsage('en').split('\n')).toEqual([
      'Commands:',
      '  list — your open matters',
      '  done <id> [comment] — complete a matter',
      '  ack <id> — acknowledge a matter: you are on it',
      '  transfer <id> <handler> <reason> — hand a matter to someone else',
      '  reject <id> <reason> — hand a matter transferred to you back to whoever sent it',
      '  exception <id> <TYPE> <text> — report an exception, TYPE from the exception catalog',
      '  help — this list',
    ]);
    const zh = chatUsage('zh-CN').split('\n');
    expect(zh[0]).toBe('命令：');
    // The verbs are what the handler types, so they stay as they are in every language.
    expect(zh.slice(1).map((line) => line.trim().split(' ')[0])).toEqual([
      ...'list done ack transfer reject exception help'.split(' '),
    ]);
    expect(zh[2]).toBe('  done <编号> [备注] — 完成事项');
  });

  it('tells a zh-CN handler in Chinese what is wrong with a command', () => {
    const unknown = parseChatCommand('finish m-1');
    expect(unknown.kind === 'invalid' && chatProblemText(unknown, 'zh-CN')).toBe(
      `未知命令 "finish"。\n${chatUsage('zh-CN')}`,
    );
    const missing = parseChatCommand('reject m-2');
    expect(missing.kind === 'invalid' && chatProblemText(missing, 'zh-CN')).toBe(
      '用法：reject <编号> <原因> — 将转给您的事项退回给转办人\n发送 "help" 查看全部命令。',
    );
  });

  it('never throws and always gives a known kind, whatever is typed', () => {
    const kinds = ['list', 'help', 'done', 'ack', 'transfer', 'reject', 'exception', 'invalid'];
    const verbs = fc.constantFrom(
      'list',
      'help',
      'done',
      'ack',
      'transfer',
      'reject',
      'exception',
      '/done',
      'x',
    );
    const typed = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.tuple(verbs, fc.string({ unit: 'grapheme', maxLength: 100 })).map(([v, rest]) => `${v} ${rest}`),
    );
    fc.assert(
      fc.property(typed, (text) => {
        const parsed = parseChatCommand(text);
        expect(kinds).toContain(parsed.kind);
        if (parsed.kind === 'invalid') expect(chatProblemText(parsed, 'en').length).toBeGreaterThan(0);
        if ('matterId' in parsed) expect(parsed.matterId).toMatch(/^\S+$/);
      }),
    );
  });
});
