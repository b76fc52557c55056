import { SMTPServer, type SMTPServerError } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server on loopback that keeps what it is given, or refuses recipients with `refuse`. */
export class SmtpReceiver {
  readonly received: Received[] = [];
  refuse: { code: number; text: string } | null = null;
  port = 0;
  private readonly server = new SMTPServer({
    authOptional: true,
    // Plain SMTP, so the client's opportunistic STARTTLS does not meet the server's self-signed certificate.
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo: (_address, _session, callback) => {
      if (!this.refuse) return callback();
      const err: SMTPServerError = new Error(this.refuse.text);
      err.responseCode = this.refuse.code;
      callback(err);
    },
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        this.received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface Part {
  headers: Map<string, string>;
  body: string;
}

export function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) headers.set(line.slice(0, at).toLowerCase(), line.slice(at + 1).trim());
  }
  return headers;
}

export function decodeBody(body: string, encoding: string | undefined): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => `%${hex}`)
      .replace(/%(?![0-9A-F]{2})/g, '%25');
    return decodeURIComponent(bytes);
  }
  return body;
}

/** RFC 2047 encoded words, as nodemailer writes a subject that is not plain ASCII. */
export function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([BQ])\?([^?]*)\?=/gi, (_, kind: string, text: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeBody(text.replace(/_/g, ' '), 'quoted-printable'),
    );
}

export function parseMail(raw: string): { headers: Map<string, string>; parts: Part[] } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = parseHeaders(raw.slice(0, split));
  const boundary = /boundary="?([^";]+)"?/.exec(headers.get('content-type') ?? '')?.[1];
  if (!boundary) throw new Error(`not a multipart message:\n${raw}`);
  const parts = raw
    .slice(split + 4)
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((chunk) => {
      const text = chunk.replace(/^\r\n/, '');
      const end = text.indexOf('\r\n\r\n');
      const partHeaders = parseHeaders(text.slice(0, end));
      return {
        headers: partHeaders,
        body: decodeBody(
          text.slice(end + 4).replace(/\r\n$/, ''),
          partHeaders.get('content-transfer-encoding'),
        ),
      };
    });
  return { headers, parts };
}

export function partOf(parts: Part[], type: string): string {
  const part = parts.find((p) => p.headers.get('content-type')?.startsWith(type));
  if (!part) throw new Error(`no ${type} part`);
  return part.body.replace(/\r\n/g, '\n');
}
