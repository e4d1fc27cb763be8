/**
 * The web-platform globals kernels/ may use: ones that browsers and Node both provide. Declared here,
 * narrowly, instead of loading the DOM or Node typings, so that anything only one of them has fails to
 * type-check in kernels/ (kernels/tsconfig.json). The WebGPU types come from @webgpu/types.
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
}

interface Response {
  readonly ok: boolean;
  readonly status: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

declare function fetch(url: string): Promise<Response>;

declare var performance: { now(): number };

/** Browsers have it; in Node, node/dawnGpu.ts installs one holding Dawn's GPU. */
declare var navigator: Navigator;

/** The WebIDL typedef @webgpu/types writes buffer uploads with. */
type BufferSource = ArrayBufferView | ArrayBuffer;
