/** @xmpp/client ships no type declarations; these are the few shapes matterflow uses. */
declare module '@xmpp/client' {
  export interface XmlElement {
    name: string;
    attrs: Record<string, string | undefined>;
    is(name: string, xmlns?: string): boolean;
    getChildText(name: string, xmlns?: string): string | null;
  }

  export type XmlChild = XmlElement | string;

  export interface Jid {
    bare(): Jid;
    toString(): string;
  }

  export type Authenticate = (
    credentials: { username: string; password: string },
    mechanism: string,
    userAgent: XmlElement,
  ) => Promise<void>;

  export interface ClientOptions {
    service: string;
    domain: string;
    resource?: string;
    timeout?: number;
    /** Either these, or `credentials` to choose the mechanism and give them itself. */
    username?: string;
    password?: string;
    credentials?: (
      authenticate: Authenticate,
      mechanisms: string[],
      fast: unknown,
      entity: { isSecure(): boolean },
    ) => Promise<void>;
  }

  export interface Client {
    status: string;
    reconnect: { stop(): void };
    isSecure(): boolean;
    on(event: 'error', listener: (err: Error) => void): void;
    on(event: 'online', listener: () => void): void;
    on(event: 'stanza', listener: (stanza: XmlElement) => void): void;
    once(event: 'online', listener: () => void): void;
    removeListener(event: 'online', listener: () => void): void;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(element: XmlElement): Promise<void>;
  }

  export function client(options: ClientOptions): Client;
  export function jid(address: string): Jid;
  export function xml(name: string, attrs?: Record<string, string>, ...children: XmlChild[]): XmlElement;
}
