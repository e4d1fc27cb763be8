// protocol/messenger.ts with two ends wired back to back (asynchronous, structured-cloned delivery like
// postMessage): requests and their replies, several in flight, timeouts, cancellation, the ready
// handshake, and the checkers refusing malformed messages with a reason instead of handing them on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { benchmarkProtocol } from '../../protocol/benchmark.js';
import { inspectorProtocol, type HostMessage } from '../../protocol/inspector.js';
import { hostMessenger, pageMessenger, RequestError, type Envelope, type Protocol, type Transport, type Vocabulary } from '../../protocol/messenger.js';
import type { SaveFile, SaveOutcome } from '../../protocol/shared.js';

interface End {
  transport: Transport;
  /** What this end posted, in order. */
  sent: Envelope[];
  warnings: string[];
  /** Hands `raw` to this end as if the other side had posted it. */
  deliver(raw: unknown): void;
}

/** Lets queued deliveries (and the promise callbacks they start) run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

function wire<Host extends Vocabulary, Page extends Vocabulary>(protocol: Protocol<Host, Page>) {
  const ends: End[] = [0, 1].map(() => {
    let handler: ((m: unknown) => void) | undefined;
    const end: End = {
      sent: [],
      warnings: [],
      deliver: (raw) => queueMicrotask(() => handler?.(structuredClone(raw))),
      transport: {
        post: (m) => {
          end.sent.push(m);
          other(end).deliver(m);
        },
        onMessage: (h) => {
          handler = h;
          return () => (handler = undefined);
        },
      },
    };
    return end;
  });
  const other = (e: End) => (e === ends[0] ? ends[1]! : ends[0]!);
  const [hostEnd, pageEnd] = ends as [End, End];
  const host = hostMessenger(protocol, hostEnd.transport, (w) => hostEnd.warnings.push(w));
  const page = pageMessenger(protocol, pageEnd.transport, (w) => pageEnd.warnings.push(w));
  return { host, page, hostEnd, pageEnd };
}

/** A promise and the functions that settle it, for handlers the test answers when it chooses. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ([resolve, reject] = [res, rej]));
  return { promise, resolve, reject };
}

const file = (fileName: string): SaveFile => ({ fileName, mime: 'text/plain', base64: 'aGk=' });

function readyBenchmark() {
  const w = wire(benchmarkProtocol);
  w.page.announceReady();
  return w;
}

describe('messenger: requests', () => {
  test('a request gets its response; the handler sees the checked parameters', async () => {
    const { host, page } = readyBenchmark();
    const seen: SaveFile[] = [];
    host.handle('save', (f) => {
      seen.push(f);
      return { path: `/tmp/${f.fileName}` };
    });
    assert.deepEqual(await page.request('save', file('a.csv')), { path: '/tmp/a.csv' });
    assert.deepEqual(seen, [file('a.csv')]);
  });

  test('replies go to the request they answer, among several in flight', async () => {
    const { host, page, hostEnd } = readyBenchmark();
    const answers = new Map<string, (r: SaveOutcome) => void>();
    host.handle('save', (f) => {
      const d = deferred<SaveOutcome>();
      answers.set(f.fileName, d.resolve);
      return d.promise;
    });
    const calls = ['a', 'b', 'c'].map((n) => page.request('save', file(n)));
    await settle();
    assert.equal(answers.size, 3);
    for (const n of ['c', 'a', 'b']) answers.get(n)!({ path: `/saved/${n}` });
    assert.deepEqual(await Promise.all(calls), [{ path: '/saved/a' }, { path: '/saved/b' }, { path: '/saved/c' }]);
    const replyIds = hostEnd.sent.flatMap((e) => (e.kind === 'reply' ? [e.inReplyTo] : []));
    assert.deepEqual(replyIds, [3, 1, 2], 'answered in the order the handlers finished, each with its id');
  });

  test('a timeout rejects, tells the other side to cancel, and a late reply is ignored', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { host, page, hostEnd, pageEnd } = readyBenchmark();
    const answer = deferred<SaveOutcome>();
    const cancelled = deferred<void>();
    host.handle('save', (_f, signal) => {
      signal.addEventListener('abort', () => cancelled.resolve());
      return answer.promise;
    });
    const call = page.request('save', file('slow'), { timeoutMs: 1000 });
    await settle();
    t.mock.timers.tick(999);
    await settle();
    t.mock.timers.tick(1);
    await assert.rejects(call, (e: unknown) => e instanceof RequestError && e.reason === 'timeout' && /save got no reply in 1000 ms/.test(e.message));
    await cancelled.promise;
    assert.deepEqual(pageEnd.sent.at(-1), { kind: 'cancel', id: 1 });
    answer.resolve({ path: '/too/late' });
    await settle();
    assert.equal(hostEnd.sent.filter((e) => e.kind === 'reply').length, 0, 'a cancelled request is not answered');
    // Even a reply that crossed the cancel on the way is dropped quietly.
    pageEnd.deliver({ kind: 'reply', inReplyTo: 1, response: { path: '/too/late' } });
    await settle();
    assert.deepEqual(pageEnd.warnings, []);
  });

  test('aborting rejects, the other side sees the cancel, and nothing answers', async () => {
    const { host, page, hostEnd, pageEnd } = readyBenchmark();
    const aborted = deferred<void>();
    host.handle('save', (_f, signal) => {
      signal.addEventListener('abort', () => aborted.resolve());
      return new Promise<SaveOutcome>(() => undefined);
    });
    const controller = new AbortController();
    const call = page.request('save', file('x'), { signal: controller.signal });
    await settle();
    controller.abort();
    await assert.rejects(call, (e: unknown) => e instanceof RequestError && e.reason === 'cancelled');
    await aborted.promise;
    assert.equal(hostEnd.sent.filter((e) => e.kind === 'reply').length, 0);
    // A signal aborted beforehand: rejected at once, nothing posted.
    const before = pageEnd.sent.length;
    await assert.rejects(page.request('save', file('y'), { signal: AbortSignal.abort() }), (e: unknown) => e instanceof RequestError && e.reason === 'cancelled');
    assert.equal(pageEnd.sent.length, before);
  });

  test('a handler that throws answers with an error instead of leaving the caller waiting', async () => {
    const { host, page } = readyBenchmark();
    host.handle('save', () => {
      throw new Error('disk full');
    });
    await assert.rejects(page.request('save', file('a')), (e: unknown) => e instanceof RequestError && e.reason === 'failed' && e.message === 'save failed: disk full');
    host.handle('save', () => Promise.reject(new Error('no such folder')));
    await assert.rejects(page.request('save', file('b')), (e: unknown) => e instanceof RequestError && e.message === 'save failed: no such folder');
  });

  test('a request nobody answers, and a malformed response, reject with a reason', async () => {
    const { host, page, pageEnd } = readyBenchmark();
    await assert.rejects(page.request('save', file('a')), (e: unknown) => e instanceof RequestError && e.reason === 'failed' && /nothing here answers save/.test(e.message));
    host.handle('save', () => ({ path: 42 }) as unknown as SaveOutcome);
    await assert.rejects(page.request('save', file('b')), (e: unknown) => e instanceof RequestError && e.reason === 'invalid' && /save response\.path: expected a string, got number 42/.test(e.message));
    assert.equal(pageEnd.warnings.length, 1);
  });

  test('disposing, or the page loading anew, ends what was in flight', async () => {
    const { host, page } = readyBenchmark();
    const served = deferred<AbortSignal>();
    host.handle('save', (_f, signal) => {
      served.resolve(signal);
      return new Promise<SaveOutcome>(() => undefined);
    });
    const call = page.request('save', file('a'));
    const signal = await served.promise;
    host.awaitReady();
    assert.equal(signal.aborted, true, 'the host stops working for a page that is gone');
    page.dispose();
    await assert.rejects(call, (e: unknown) => e instanceof RequestError && e.reason === 'closed');
  });
});

describe('messenger: notifications and the handshake', () => {
  test('the host holds what it sends until the page is ready, then sends it in order', async () => {
    const { host, page, hostEnd } = wire(inspectorProtocol);
    const got: HostMessage[] = [];
    page.on('settings', (m) => got.push(m));
    page.on('cancel', (m) => got.push(m));
    host.notify({ type: 'settings', colorScale: 'log', topK: 3 });
    host.notify({ type: 'cancel', requestId: 7 });
    await settle();
    assert.deepEqual(hostEnd.sent, []);
    page.announceReady();
    await settle();
    assert.deepEqual(got, [
      { type: 'settings', colorScale: 'log', topK: 3 },
      { type: 'cancel', requestId: 7 },
    ]);
    host.awaitReady();
    host.notify({ type: 'cancel', requestId: 8 });
    await settle();
    assert.equal(got.length, 2, 'a page loading anew gets nothing until its own ready');
  });

  test('a page speaking another version is said in the log, and still served', async () => {
    const { host, hostEnd } = wire(inspectorProtocol);
    hostEnd.deliver({ kind: 'ready', version: 1 });
    await settle();
    assert.deepEqual(hostEnd.warnings, [`the other side speaks protocol 1, this side ${inspectorProtocol.version}`]);
    host.notify({ type: 'cancel', requestId: 1 });
    assert.equal(hostEnd.sent.length, 1);
  });

  test('malformed messages are refused with a reason, and no handler sees them', async () => {
    const { host, hostEnd } = wire(inspectorProtocol);
    const logged: string[] = [];
    host.on('log', (m) => logged.push(m.level));
    host.handle('save', () => ({ path: '/never' }));
    const raw: unknown[] = [
      'hello',
      null,
      { kind: 'shout' },
      { kind: 'notification', message: { type: 'log', level: 'debug', message: 'x' } },
      { kind: 'notification', message: { type: 'log', level: 'toString', message: 'x' } },
      { kind: 'notification', message: { type: 'log', level: 'info' } },
      { kind: 'notification', message: { type: 'toString' } },
      { kind: 'notification', message: { type: 'explode' } },
      { kind: 'notification', message: { type: 'result', requestId: 1.5, facts: {} } },
      { kind: 'request', id: 9, type: 'save', params: { fileName: 3, mime: 'text/plain', base64: '' } },
      { kind: 'request', id: 10, type: 'format', params: {} },
      { kind: 'reply', inReplyTo: 'one' },
    ];
    for (const m of raw) hostEnd.deliver(m);
    hostEnd.deliver({ kind: 'ready', version: inspectorProtocol.version });
    await settle();
    assert.deepEqual(logged, []);
    assert.deepEqual(hostEnd.warnings, [
      'refused a message: message: expected an object, got "hello"',
      'refused a message: message: expected an object, got null',
      'refused a message: message.kind: expected one of ready, notification, request, reply, cancel, got "shout"',
      'refused a message: log.level: expected one of info, warn, error, got "debug"',
      'refused a message: log.level: expected one of info, warn, error, got "toString"',
      'refused a message: log.message: expected a string, got nothing',
      'refused a message: unknown notification "toString"',
      'refused a message: unknown notification "explode"',
      'refused a message: result.requestId: expected an integer, got number 1.5',
      'refused a request: save.fileName: expected a string, got number 3',
      'refused a request: unknown request "format"',
      'refused a message: message.inReplyTo: expected an integer, got "one"',
    ]);
    // The refused requests were answered with their reasons, so their callers do not wait.
    assert.deepEqual(
      hostEnd.sent.filter((e) => e.kind === 'reply'),
      [
        { kind: 'reply', inReplyTo: 9, error: 'save.fileName: expected a string, got number 3' },
        { kind: 'reply', inReplyTo: 10, error: 'unknown request "format"' },
      ],
    );
  });

  test('the checkers name what is wrong deep inside a payload', () => {
    const inspect = inspectorProtocol.host.notifications.inspect;
    const good = {
      requestId: 1,
      model: { id: 'm', label: 'M', baseUri: 'https://x/' },
      ortBase: 'https://x/ort/',
      backend: 'auto',
      colorScale: 'linear',
      topK: 5,
      tokens: [{ id: 1, text: 'a', start: 0, end: 1, line: 0, character: 0 }],
      notices: [{ kind: 'truncated', tokens: 9, keptTokens: 4, limit: 'context', inspectedChars: 4, totalChars: 9 }],
      source: { fileName: 'a.py', languageId: 'python', startLine: 0, endLine: 0 },
      commandEpochMs: 1,
    };
    assert.equal(inspect(good, 'inspect'), undefined);
    assert.equal(inspect({ ...good, backend: 'cuda' }, 'inspect'), 'inspect.backend: expected one of auto, webgpu, wasm, got "cuda"');
    assert.equal(inspect({ ...good, tokens: [...good.tokens, { ...good.tokens[0], id: '2' }] }, 'inspect'), 'inspect.tokens[1].id: expected an integer, got "2"');
    assert.equal(inspect({ ...good, notices: [{ kind: 'truncated', tokens: 9, keptTokens: 4, limit: 'memory', inspectedChars: 4, totalChars: 9 }] }, 'inspect'), 'inspect.notices[0].limit: expected one of context, maxTokens, memoryBudget, got "memory"');
    assert.equal(inspect({ ...good, notices: [{ kind: 'truncated', keptTokens: 4, limit: 'maxTokens', inspectedChars: 4, totalChars: 9 }] }, 'inspect'), undefined, 'the total is left out when the text was not tokenized whole');
    assert.equal(inspect({ ...good, notices: [{ kind: 'weird' }] }, 'inspect'), 'inspect.notices[0].kind: expected one of currentLine, firstOfSeveral, truncated, got "weird"');
    const summary = inspectorProtocol.page.notifications.hoverSummary;
    const tokens = [{ attends: [{ index: 0, weight: 1 }], heads: [], predictions: [{ text: 'x', p: 0.5 }] }];
    assert.equal(summary({ requestId: 1, summary: { layer: 0, head: -1, tokens } }, 'hoverSummary'), undefined);
    assert.equal(summary({ requestId: 1, summary: { layer: 0, head: -1, tokens: [{ ...tokens[0], loss: 'high' }] } }, 'hoverSummary'), 'hoverSummary.summary.tokens[0].loss: expected a number, got "high"');
  });

  test('a notification handler that throws is said in the log; later messages still arrive', async () => {
    const { host, page, hostEnd } = wire(inspectorProtocol);
    const levels: string[] = [];
    host.on('log', (m) => {
      if (m.message === 'boom') throw new Error('handler broke');
      levels.push(m.level);
    });
    page.notify({ type: 'log', level: 'warn', message: 'boom' });
    page.notify({ type: 'log', level: 'error', message: 'fine' });
    await settle();
    assert.deepEqual(hostEnd.warnings, ['handling log failed: handler broke']);
    assert.deepEqual(levels, ['error']);
  });
});
