import { client, xml } from '@xmpp/client';
import type { Prosody } from './prosody.js';

export interface Chat {
  from: string;
  id: string | undefined;
  body: string;
}

/** A handler's own chat client, logged in as a person would be, that keeps every chat it receives. */
export class Person {
  readonly inbox: Chat[] = [];
  private readonly xmpp: any;

  constructor(prosody: Prosody, account: { username: string; password: string }) {
    this.xmpp = client({
      service: prosody.service,
      domain: prosody.domain,
      resource: 'phone',
      username: account.username,
      password: account.password,
    });
    this.xmpp.on('error', () => undefined);
    this.xmpp.on('stanza', (stanza: any) => {
      const body = stanza.is('message') ? stanza.getChildText('body') : null;
      if (body !== null) this.inbox.push({ from: stanza.attrs.from, id: stanza.attrs.id, body });
    });
  }

  /** Resolves once the server has taken the presence, so chats to the bare JID are routed here. */
  async start(): Promise<this> {
    const address = await this.xmpp.start();
    const available = new Promise<void>((resolve) => {
      const echo = (stanza: any) => {
        if (!stanza.is('presence') || stanza.attrs.from !== address.toString()) return;
        this.xmpp.removeListener('stanza', echo);
        resolve();
      };
      this.xmpp.on('stanza', echo);
    });
    await this.xmpp.send(xml('presence'));
    await available;
    return this;
  }

  async say(to: string, text: string): Promise<void> {
    await this.xmpp.send(xml('message', { type: 'chat', to }, xml('body', {}, text)));
  }

  async waitFor(predicate: (chat: Chat) => boolean, what: string, timeoutMs = 10_000): Promise<Chat> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.inbox.find(predicate);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; got: ${JSON.stringify(this.inbox)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    await this.xmpp.stop();
  }
}
