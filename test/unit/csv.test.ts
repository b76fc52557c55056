import { describe, expect, it } from 'vitest';
import { csvCell, csvLine, toCsv } from '../../src/api/csv.js';

/** A strict RFC 4180 reader, so the writer is checked by reading back, not by its own rules. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
      } else if (ch === '"') {
        quoted = false;
        i++;
      } else {
        cell += ch;
        i++;
      }
    } else if (ch === '"' && cell === '') {
      quoted = true;
      i++;
    } else if (ch === ',') {
      row.push(cell);
      cell = '';
      i++;
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 2;
    } else if (ch === '"' || ch === '\r' || ch === '\n') {
      throw new Error(`bare ${JSON.stringify(ch)} at ${i}`);
    } else {
      cell += ch;
      i++;
    }
  }
  if (cell !== '' || row.length > 0) throw new Error('last record not ended by CRLF');
  return rows;
}

describe('csvCell', () => {
  it('leaves plain text, numbers and booleans bare', () => {
    expect(csvCell('plain text')).toBe('plain text');
    expect(csvCell(42)).toBe('42');
    expect(csvCell(1.5)).toBe('1.5');
    expect(csvCell(true)).toBe('true');
  });

  it('writes null and undefined as an empty field', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
  });

  it('quotes a field with a comma', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
  });

  it('quotes a field with a double quote and doubles the quote', () => {
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
  });

  it('quotes a field with LF, CR or CRLF', () => {
    expect(csvCell('line 1\nline 2')).toBe('"line 1\nline 2"');
    expect(csvCell('a\r\nb')).toBe('"a\r\nb"');
    expect(csvCell('a\rb')).toBe('"a\rb"');
  });

  it.each(['=SUM(A1:A9)', '+1', '-2+3', '@cmd', '\tx'])(
    'prefixes %j, which a spreadsheet would run, with a quote',
    (v) => {
      expect(csvCell(v)).toBe(`'${v}`);
    },
  );

  it('prefixes and quotes a formula that also needs quoting', () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvCell('\r=1')).toBe(`"'\r=1"`);
  });

  it('keeps a negative number a number', () => {
    expect(csvCell(-5)).toBe('-5');
  });

  it('leaves a formula character that is not first alone', () => {
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell('user@example.com')).toBe('user@example.com');
  });

  it('writes Chinese text as it is', () => {
    expect(csvCell('数据不符')).toBe('数据不符');
    expect(csvCell('其他，备注')).toBe('其他，备注');
    expect(csvCell('受阻, "原因"')).toBe('"受阻, ""原因"""');
  });
});

describe('toCsv', () => {
  it('ends every record, the header too, with CRLF', () => {
    expect(csvLine(['a', 1, null])).toBe('a,1,\r\n');
    expect(toCsv(['h1', 'h2'], [['x', 2]])).toBe('h1,h2\r\nx,2\r\n');
  });

  it('gives just the header for no rows', () => {
    expect(toCsv(['day', 'count'], [])).toBe('day,count\r\n');
  });

  it('reads back to the same cells, formulas defused', () => {
    const rows = [
      ['数据不符', 'a,b', 'say "hi"', 'two\nlines', 'crlf\r\ninside', ''],
      ['=1+1', '-x', '@y', '+z', 'plain', '其他'],
    ];
    const parsed = parseCsv(toCsv(['c1', 'c2', 'c3', 'c4', 'c5', 'c6'], rows));
    expect(parsed).toEqual([
      ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'],
      rows[0],
      ["'=1+1", "'-x", "'@y", "'+z", 'plain', '其他'],
    ]);
  });
});
