/** The VS Code side of the page: typed posting, incoming messages, exports, and the state kept across reloads. */
import { inspectorProtocol, type HostMessage, type ModelFileBytes, type ModelFileRange, type InspectorHostVocabulary, type InspectorState, type PanelMessage } from '../../protocol/inspector.js';
import { pageMessenger } from '../../protocol/messenger.js';
import type { SaveOutcome } from '../../protocol/shared.js';
import { vsCodeTransport, type PostsToHost } from '../hostTransport.js';

interface VsCodeApi extends PostsToHost {
  getState(): InspectorState | undefined;
  setState(state: InspectorState): void;
}
declare const acquireVsCodeApi: () => VsCodeApi;

const api = acquireVsCodeApi();
// A malformed message from the host is refused and said in the host's log.
const messenger = pageMessenger(inspectorProtocol, vsCodeTransport(api), (text) => post({ type: 'log', level: 'warn', message: text }));

export function post(message: PanelMessage): void {
  messenger.notify(message);
}

/** `handler` gets every notification of the host; call `announceReady` after it is in place. */
export function onHostMessage(handler: (m: HostMessage) => void): void {
  type HostType = keyof InspectorHostVocabulary['notifications'];
  // The checkers' keys are the host's notification types, one each.
  for (const type of Object.keys(inspectorProtocol.host.notifications) as HostType[]) messenger.on<HostType>(type, handler);
}

export function announceReady(): void {
  messenger.announceReady();
}

export function getState(): InspectorState {
  return api.getState() ?? {};
}

export function setState(s: InspectorState): void {
  api.setState(s);
}

/** Chromium 140+ encodes natively: 2 ms for a 4 MB part where the string path below takes 250 ms (one task). */
type WithToBase64 = Uint8Array & { toBase64?: () => string };

function base64(bytes: Uint8Array): string {
  const native = (bytes as WithToBase64).toBase64;
  if (native) return native.call(bytes);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

const failure = (e: unknown): SaveOutcome => ({ error: e instanceof Error ? e.message : String(e) });

/** Asks the host to save a file (save dialog); resolves with where it went, or why not. */
export function save(fileName: string, mime: string, bytes: Uint8Array): Promise<SaveOutcome> {
  return messenger.request('save', { fileName, mime, base64: base64(bytes) }).catch(failure);
}

/**
 * Saves a file too large for one message: `parts` yields it in order (each part is sent, and answered,
 * before the next is asked for); if it throws, the host removes what was written.
 */
export async function saveInParts(fileName: string, mime: string, parts: () => AsyncIterable<Uint8Array>): Promise<SaveOutcome> {
  try {
    const { streamId, error } = await messenger.request('saveStreamOpen', { fileName, mime });
    if (streamId === undefined) return { error: error ?? 'the host opened no file' };
    try {
      for await (const part of parts()) {
        const w = await messenger.request('saveStreamWrite', { streamId, base64: base64(part) });
        if (w.error) return { error: w.error };
      }
    } catch (e) {
      await messenger.request('saveStreamClose', { streamId, abort: true });
      return failure(e);
    }
    return await messenger.request('saveStreamClose', { streamId, abort: false });
  } catch (e) {
    return failure(e);
  }
}

/** A range of a model file, read by the host; a stuck host is given up on after two minutes. */
export function requestModelFile(range: ModelFileRange, signal?: AbortSignal): Promise<ModelFileBytes> {
  return messenger.request('modelFile', range, { signal, timeoutMs: 120_000 });
}
