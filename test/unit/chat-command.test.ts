import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHAT_USAGE, parseChatCommand } from '../../src/channels/xmpp.js';

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
    expect(parseChatCommand('reject m-2')).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('reject <id> <reason>'),
    });
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
      expect(parsed.kind === 'invalid' && parsed.message, text).toContain(`Usage: ${usage}`);
    }
  });

  it('answers an unknown or empty command with the list of commands', () => {
    expect(parseChatCommand('finish m-1')).toEqual({
      kind: 'invalid',
      message: `Unknown command "finish".\n${CHAT_USAGE}`,
    });
    expect(parseChatCommand('   ')).toEqual({
      kind: 'invalid',
      message: `That is no command.\n${CHAT_USAGE}`,
    });
  });

  it('refuses a message too long to be a command', () => {
    expect(parseChatCommand(`done m-1 ${'x'.repeat(5000)}`)).toMatchObject({ kind: 'invalid' });
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
        if (parsed.kind === 'invalid') expect(parsed.message.length).toBeGreaterThan(0);
        if ('matterId' in parsed) expect(parsed.matterId).toMatch(/^\S+$/);
      }),
    );
  });
});
