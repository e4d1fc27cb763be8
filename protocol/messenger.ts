/**
 * One end of a host ⇄ webview channel, the same code on both sides (after vscode-hexeditor's
 * shared/protocol.ts): typed notifications, requests whose promise resolves with the request type's
 * response (replies matched by id), timeouts and cancellation, and the `ready` handshake. Everything that
 * arrives is checked against the protocol's checkers before a handler sees it; what fails is refused with
 * a reason. Pure code over a `post` / `onMessage` transport: no vscode, no DOM, no Node.
 *
 * On the wire (`Envelope`): the page starts with `ready`; notifications carry their message; a request
 * carries `id`, its answer `inReplyTo: id` and a response or an error; the caller that stops waiting
 * (timeout, abort) sends `cancel`, so the other side stops working on it and sends nothing back.
 */
import { anything, integer, object, oneOf, optional, parse, string, variants, type Checker } from './validate.js';

/** A request's parameters and the response it is answered with. */
export interface Call<P, R> {
  params: P;
  response: R;
}

/** What one side sends: notifications (type → fields) and requests (type → `Call`). */
export interface Vocabulary {
  notifications: object;
  requests: object;
}

/** A notification as handlers see it: its fields and its `type`. */
export type Message<M, K extends keyof M = keyof M> = { [T in K]: { type: T } & M[T] }[K];

type Params<R, K extends keyof R> = R[K] extends Call<infer P, unknown> ? P : never;
type Response<R, K extends keyof R> = R[K] extends Call<unknown, infer X> ? X : never;

/** The checkers for everything one side sends: the other side runs them on what arrives. */
export interface VocabularyCheckers<V extends Vocabulary> {
  notifications: { [K in keyof V['notifications']]-?: Checker<V['notifications'][K]> };
  requests: { [K in keyof V['requests']]-?: { params: Checker<Params<V['requests'], K>>; response: Checker<Response<V['requests'], K>> } };
}

/** A view's protocol: what its host sends, what its page sends, and the version both must speak. */
export interface Protocol<Host extends Vocabulary, Page extends Vocabulary> {
  version: number;
  host: VocabularyCheckers<Host>;
  page: VocabularyCheckers<Page>;
}

export type Envelope =
  | { kind: 'ready'; version: number }
  | { kind: 'notification'; message: { type: string } }
  | { kind: 'request'; id: number; type: string; params: unknown }
  | { kind: 'reply'; inReplyTo: number; response?: unknown; error?: string }
  | { kind: 'cancel'; id: number };

const envelope: Checker<Envelope> = variants('kind', {
  ready: object<Extract<Envelope, { kind: 'ready' }>>({ kind: oneOf('ready'), version: integer }),
  notification: object<Extract<Envelope, { kind: 'notification' }>>({ kind: oneOf('notification'), message: object<{ type: string }>({ type: string }) }),
  request: object<Extract<Envelope, { kind: 'request' }>>({ kind: oneOf('request'), id: integer, type: string, params: anything }),
  reply: object<Extract<Envelope, { kind: 'reply' }>>({ kind: oneOf('reply'), inReplyTo: integer, response: anything, error: optional(string) }),
  cancel: object<Extract<Envelope, { kind: 'cancel' }>>({ kind: oneOf('cancel'), id: integer }),
});

export interface Transport {
  post(message: Envelope): void;
  /** Starts handing over what arrives; the function it returns stops that. */
  onMessage(handler: (message: unknown) => void): () => void;
}

/** Why a request ended without a response. */
export type RequestFailure = 'timeout' | 'cancelled' | 'failed' | 'invalid' | 'closed';

export class RequestError extends Error {
  constructor(
    readonly reason: RequestFailure,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export interface RequestOptions {
  /** Gives up (rejects with reason `timeout`) after this long; none: waits as long as it takes (a save dialog). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface MessengerOptions {
  /** Told every message that was refused, and why, and a handshake with another protocol version. */
  warn(text: string): void;
  /** The host's end: what it sends waits until the page says `ready`. */
  waitForReady: boolean;
}

/** Increasing ids for requests from one side. */
export function idCounter(): () => number {
  let n = 0;
  return () => ++n;
}

interface PendingCall {
  type: string;
  resolve(response: unknown): void;
  reject(error: RequestError): void;
}

type RequestHandler = (params: never, signal: AbortSignal) => unknown;

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class Messenger<Out extends Vocabulary, In extends Vocabulary> {
  private ready: boolean;
  private queue: Envelope[] = [];
  private readonly nextId = idCounter();
  private readonly calls = new Map<number, PendingCall>();
  /** Requests of the other side being worked on; a `cancel` aborts one, and its answer is then not sent. */
  private readonly serving = new Map<number, AbortController>();
  private readonly notificationHandlers = new Map<string, (message: never) => void>();
  private readonly requestHandlers = new Map<string, RequestHandler>();
  private readonly stop: () => void;

  constructor(
    private readonly transport: Transport,
    private readonly version: number,
    private readonly sends: VocabularyCheckers<Out>,
    private readonly receives: VocabularyCheckers<In>,
    private readonly options: MessengerOptions,
  ) {
    this.ready = !options.waitForReady;
    this.stop = transport.onMessage((m) => this.receive(m));
  }

  notify(message: Message<Out['notifications']>): void {
    this.send({ kind: 'notification', message: message as { type: string } });
  }

  request<K extends keyof Out['requests'] & string>(type: K, params: Params<Out['requests'], K>, options: RequestOptions = {}): Promise<Response<Out['requests'], K>> {
    const { timeoutMs, signal } = options;
    if (signal?.aborted) return Promise.reject(new RequestError('cancelled', `${type} was cancelled`));
    const id = this.nextId();
    return new Promise((resolve, reject) => {
      const giveUp = (reason: RequestFailure, message: string) => {
        this.calls.get(id)?.reject(new RequestError(reason, message));
        this.send({ kind: 'cancel', id });
      };
      const onAbort = () => giveUp('cancelled', `${type} was cancelled`);
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => giveUp('timeout', `${type} got no reply in ${timeoutMs} ms`), timeoutMs);
      const settled = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.calls.delete(id);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.calls.set(id, {
        type,
        resolve: (response) => {
          settled();
          resolve(response as Response<Out['requests'], K>);
        },
        reject: (error) => {
          settled();
          reject(error);
        },
      });
      this.send({ kind: 'request', id, type, params });
    });
  }

  /** The handler of one notification type (one per type). */
  on<K extends keyof In['notifications'] & string>(type: K, handler: (message: Message<In['notifications'], K>) => void): void {
    this.notificationHandlers.set(type, handler);
  }

  /** The handler answering one request type; what it throws goes back as the request's error. */
  handle<K extends keyof In['requests'] & string>(
    type: K,
    handler: (params: Params<In['requests'], K>, signal: AbortSignal) => Response<In['requests'], K> | Promise<Response<In['requests'], K>>,
  ): void {
    this.requestHandlers.set(type, handler);
  }

  /** The page's end, once its handlers are in place: the host may start sending. */
  announceReady(): void {
    this.transport.post({ kind: 'ready', version: this.version });
  }

  /**
   * The host's end when the page loads anew: what it sends waits for the new page's `ready`, and what was
   * in flight with the old page ends (its answers would reach a page that never asked).
   */
  awaitReady(): void {
    this.ready = false;
    this.endInFlight();
  }

  dispose(): void {
    this.stop();
    this.queue = [];
    this.endInFlight();
  }

  private endInFlight(): void {
    for (const call of [...this.calls.values()]) call.reject(new RequestError('closed', `${call.type}: the other side went away`));
    for (const controller of this.serving.values()) controller.abort();
    this.serving.clear();
  }

  private send(e: Envelope): void {
    if (this.ready) this.transport.post(e);
    else this.queue.push(e);
  }

  private receive(raw: unknown): void {
    const parsed = parse(envelope, raw, 'message');
    if (!parsed.ok) return this.options.warn(`refused a message: ${parsed.wrong}`);
    const m = parsed.value;
    switch (m.kind) {
      case 'ready':
        return this.receiveReady(m.version);
      case 'notification':
        return this.receiveNotification(m.message);
      case 'request':
        return void this.serve(m.id, m.type, m.params);
      case 'reply':
        return this.receiveReply(m.inReplyTo, m.response, m.error);
      case 'cancel':
        this.serving.get(m.id)?.abort();
        this.serving.delete(m.id);
        return;
    }
  }

  private receiveReady(version: number): void {
    if (version !== this.version) this.options.warn(`the other side speaks protocol ${version}, this side ${this.version}`);
    this.ready = true;
    const queued = this.queue;
    this.queue = [];
    for (const e of queued) this.transport.post(e);
  }

  private receiveNotification(message: { type: string }): void {
    const checkers = this.receives.notifications as Record<string, Checker<unknown>>;
    if (!Object.hasOwn(checkers, message.type)) return this.options.warn(`refused a message: unknown notification "${message.type}"`);
    const wrong = checkers[message.type]!(message, message.type);
    if (wrong) return this.options.warn(`refused a message: ${wrong}`);
    try {
      this.notificationHandlers.get(message.type)?.(message as never);
    } catch (e) {
      this.options.warn(`handling ${message.type} failed: ${messageOf(e)}`);
    }
  }

  private async serve(id: number, type: string, params: unknown): Promise<void> {
    const checkers = this.receives.requests as Record<string, { params: Checker<unknown> }>;
    const wrong = !Object.hasOwn(checkers, type) ? `unknown request "${type}"` : checkers[type]!.params(params, type);
    const handler = this.requestHandlers.get(type);
    if (wrong || !handler) {
      const error = wrong ?? `nothing here answers ${type}`;
      this.options.warn(`refused a request: ${error}`);
      return this.send({ kind: 'reply', inReplyTo: id, error });
    }
    const controller = new AbortController();
    this.serving.set(id, controller);
    const current = () => this.serving.get(id) === controller;
    try {
      const response = await handler(params as never, controller.signal);
      if (current()) this.send({ kind: 'reply', inReplyTo: id, response });
    } catch (e) {
      if (current()) this.send({ kind: 'reply', inReplyTo: id, error: messageOf(e) });
    } finally {
      if (current()) this.serving.delete(id);
    }
  }

  private receiveReply(inReplyTo: number, response: unknown, error: string | undefined): void {
    // No call: it timed out or was cancelled, and its late answer is dropped.
    const call = this.calls.get(inReplyTo);
    if (!call) return;
    if (error !== undefined) return call.reject(new RequestError('failed', `${call.type} failed: ${error}`));
    const checkers = this.sends.requests as Record<string, { response: Checker<unknown> }>;
    const wrong = checkers[call.type]!.response(response, `${call.type} response`);
    if (!wrong) return call.resolve(response);
    this.options.warn(`refused a reply: ${wrong}`);
    call.reject(new RequestError('invalid', wrong));
  }
}

/** The host's end of a view's channel: it sends the host's vocabulary, and waits for the page's `ready`. */
export function hostMessenger<Host extends Vocabulary, Page extends Vocabulary>(protocol: Protocol<Host, Page>, transport: Transport, warn: (text: string) => void): Messenger<Host, Page> {
  return new Messenger(transport, protocol.version, protocol.host, protocol.page, { warn, waitForReady: true });
}

/** The page's end of a view's channel; it calls `announceReady()` once its handlers are in place. */
export function pageMessenger<Host extends Vocabulary, Page extends Vocabulary>(protocol: Protocol<Host, Page>, transport: Transport, warn: (text: string) => void): Messenger<Page, Host> {
  return new Messenger(transport, protocol.version, protocol.page, protocol.host, { warn, waitForReady: false });
}
