/**
 * The web-platform globals that kernels/ and protocol/ may use: ones that browsers and Node both provide.
 * Declared here, narrowly, instead of loading the DOM or Node typings, so that anything only one of them
 * has fails to type-check there (kernels/tsconfig.json, protocol/tsconfig.json). WebGPU comes from
 * @webgpu/types.
 */

declare class TextEncoder {
  encode(input?: string): Uint8Array<ArrayBuffer>;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string;
}

interface AbortSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

declare class AbortController {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}

/** A number in browsers, an object in Node: only ever handed back to clearTimeout. */
type TimeoutHandle = unknown;
declare function setTimeout(handler: () => void, timeoutMs?: number): TimeoutHandle;
declare function clearTimeout(handle: TimeoutHandle): void;

interface Response {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly bodyUsed: boolean;
  readonly body: {
    cancel(reason?: unknown): Promise<void>;
    getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(reason?: unknown): Promise<void> };
  } | null;
  arrayBuffer(): Promise<ArrayBuffer>;
}

declare function fetch(url: string, init?: { headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response>;

declare var performance: { now(): number };

/** Browsers have it; in Node, node/dawnGpu.ts installs one holding Dawn's GPU. */
declare var navigator: Navigator;

/** The WebIDL typedef @webgpu/types writes buffer uploads with. */
type BufferSource = ArrayBufferView | ArrayBuffer;
