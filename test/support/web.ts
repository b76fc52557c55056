/**
 * A browser without a browser: keeps cookies, follows no redirects, and posts forms the way a page does,
 * with the CSRF token taken from the last page it read.
 */
export class WebClient {
  private readonly cookies = new Map<string, string>();
  lastHtml = '';

  constructor(
    private readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  private remember(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<{ res: Response; html: string }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      redirect: 'manual',
      headers: { accept: 'text/html', ...this.headers, ...this.cookieHeader(), ...headers },
    });
    this.remember(res);
    const html = await res.text();
    if (res.headers.get('content-type')?.startsWith('text/html')) this.lastHtml = html;
    return { res, html };
  }

  /** The CSRF token of the last page read, as its forms carry it. */
  csrf(): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(this.lastHtml);
    if (!match) throw new Error('the last page read has no form with a CSRF token');
    return match[1]!;
  }

  async post(
    path: string,
    form: Record<string, string>,
    options: { csrf?: boolean } = {},
  ): Promise<{ res: Response; html: string }> {
    const body = new URLSearchParams(form);
    if (options.csrf !== false) body.set('_csrf', this.csrf());
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        'content-type': 'application/x-www-form-urlencoded',
        ...this.headers,
        ...this.cookieHeader(),
      },
      body: body.toString(),
    });
    this.remember(res);
    const html = await res.text();
    if (res.headers.get('content-type')?.startsWith('text/html')) this.lastHtml = html;
    return { res, html };
  }

  /** Signs in with an API token through the form; throws unless the session cookie is set. */
  async signIn(token: string): Promise<void> {
    await this.get('/sign-in');
    const { res, html } = await this.post('/sign-in', { token, next: '/inbox' });
    if (res.status !== 303 || !this.cookies.has('mf_session')) {
      throw new Error(`signing in: ${res.status} ${html.slice(0, 300)}`);
    }
    await this.get('/inbox');
  }
}
