import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type PostResult = { status: number } | { error: string };

/**
 * One POST on a connection of its own (no keep-alive pool, so a receiver that half-died cannot hold a
 * socket), bounded by `timeoutMs` from connect to the last byte of the answer. Redirects are not followed.
 */
export function postJson(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostResult> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(
      target,
      {
        method: 'POST',
        agent: false,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          connection: 'close',
        },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        // The answer's status is the acknowledgement; its body is read only to let the socket close cleanly.
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.once('error', (err) => resolve({ error: describe(err) }));
      },
    );
    req.once('error', (err) => resolve({ error: describe(err) }));
    req.end(body);
  });
}

function describe(err: Error): string {
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return 'timed out';
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${code}: ${err.message}` : err.message;
}
