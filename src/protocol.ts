/**
 * The one protocol between the extension host and its webviews (inspector panel; the benchmark view's
 * messages may join here). Pure types and tiny helpers: no `vscode`, no DOM, so both sides import it.
 *
 * Conventions:
 * - every message has a `type` (discriminated unions below);
 * - the webview starts with `ready`; the host queues everything until it has seen it;
 * - an inspection carries a `requestId`; every message about it repeats that id, so late messages of a
 *   cancelled inspection are recognised and dropped;
 * - a request that expects an answer (`save`) carries `id`; the answer carries `replyTo: id`;
 * - model weights never travel here: the webview fetches them from `model.baseUri` (an asWebviewUri).
 */

export const PROTOCOL_VERSION = 1;

export type ColorScale = 'linear' | 'sqrt' | 'log';
export type BackendChoice = 'auto' | 'webgpu' | 'wasm';

/** One token of the inspected text; offsets are UTF-16 code units of the inspected text (not the document). */
export interface TokenInfo {
  id: number;
  text: string;
  start: number;
  end: number;
  /** Editor position of the token's start, 0-based, for labels ("line 3, col 5"). */
  line: number;
  character: number;
}

export interface ModelRef {
  /** Stable id (`embedded:tinycode-4l8h-1k`, or the model store's id). */
  id: string;
  label: string;
  /** Webview URI of the model folder, ending in '/'; files are fetched as `${baseUri}config.json` etc. */
  baseUri: string;
}

/** Why the inspected text is not exactly the user's selection; shown in the panel. */
export type SelectionNotice =
  | { kind: 'currentLine'; line: number }
  | { kind: 'firstOfSeveral'; count: number }
  | { kind: 'truncated'; tokens: number; keptTokens: number; limit: 'context' | 'maxTokens' };

/** What the page needs to start the model: where it and onnxruntime-web are, and which backend to use. */
export interface EngineRef {
  model: ModelRef;
  /** Webview URI of onnxruntime-web's wasm folder (dist/ort/), ending in '/'. */
  ortBase: string;
  backend: BackendChoice;
}

/** Where the inspected text came from. */
export interface SourceRef {
  /** Workspace-relative, for the panel's title. */
  fileName: string;
  languageId: string;
  startLine: number;
  endLine: number;
  /** The document and the offset of the inspected text in it: after a reload, the host restores hovers there. */
  uri?: string;
  startOffset?: number;
}

export interface InspectRequest extends EngineRef {
  type: 'inspect';
  requestId: number;
  colorScale: ColorScale;
  topK: number;
  tokens: TokenInfo[];
  notices: SelectionNotice[];
  source: SourceRef;
  /** `Date.now()` in the host when the command ran; the panel measures "command → first heatmap" from it. */
  commandEpochMs: number;
}

/**
 * Sent as soon as the panel opens, before the host has tokenized anything: the page starts loading the
 * model and onnxruntime-web while the inspection request is still being made.
 */
export interface PrepareRequest extends EngineRef {
  type: 'prepare';
}

export type HostToWebview =
  | PrepareRequest
  | InspectRequest
  | { type: 'cancel'; requestId: number }
  | { type: 'settings'; colorScale: ColorScale; topK: number }
  | { type: 'message'; requestId?: number; kind: 'empty' | 'error'; text: string }
  | { type: 'saved'; replyTo: number; path?: string; error?: string };

/** Per inspected token, what the editor hover shows: small, never the full tensors. */
export interface HoverTokenSummary {
  /** Tokens this one attends to most in the chosen layer/head: token index and weight. */
  attends: { index: number; weight: number }[];
  /** Heads attending most strongly from this token (to another token), strongest first. */
  heads: { layer: number; head: number; index: number; weight: number }[];
  /** Cross-entropy of predicting this token from the ones before it (nats); absent for the first token. */
  loss?: number;
  /** The model's most likely next tokens after this one. */
  predictions: { text: string; p: number }[];
}

export interface HoverSummary {
  layer: number;
  /** -1: average over heads. */
  head: number;
  tokens: HoverTokenSummary[];
}

export interface RunFacts {
  provider: string;
  adapter: string;
  tokens: number;
  timings: Record<string, number>;
  firstHeatmapMs?: number;
}

export type WebviewToHost =
  | { type: 'ready'; version: number }
  | { type: 'progress'; requestId: number; stage: string }
  | { type: 'result'; requestId: number; facts: RunFacts }
  | { type: 'hoverSummary'; requestId: number; summary: HoverSummary }
  | { type: 'error'; requestId?: number; message: string }
  | { type: 'save'; id: number; fileName: string; mime: string; base64: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

/** What the inspector webview keeps in `setState`, and the host gets back to restore the panel after a reload. */
export interface InspectorState {
  request?: Omit<InspectRequest, 'model' | 'ortBase' | 'commandEpochMs'> & { modelId: string };
  layer?: number;
  head?: number;
}

const hostTypes = new Set(['prepare', 'inspect', 'cancel', 'settings', 'message', 'saved']);
const webviewTypes = new Set(['ready', 'progress', 'result', 'hoverSummary', 'error', 'save', 'log']);

function hasType(m: unknown, types: Set<string>): boolean {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && types.has((m as { type: string }).type);
}

export function isHostToWebview(m: unknown): m is HostToWebview {
  return hasType(m, hostTypes);
}

export function isWebviewToHost(m: unknown): m is WebviewToHost {
  return hasType(m, webviewTypes);
}

/** Increasing ids for requests from one side. */
export function idCounter(): () => number {
  let n = 0;
  return () => ++n;
}
