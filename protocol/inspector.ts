/**
 * The inspector panel's protocol: what the host sends the page, what the page sends back, and the
 * checkers each side runs on what arrives (protocol/messenger.ts carries it). An inspection carries a
 * `requestId` and every message about it repeats that id, so late messages of a cancelled inspection are
 * recognised and dropped. The page fetches model files from `model.baseUri` in ranges
 * (kernels/model/fetchReader.ts) — the host's model file server or a webview URI — or, with
 * `attentionInspector.weightsTransport: messages`, asks the host for the same ranges (`modelFile`); either
 * way it says how far it got (`weights`).
 */
import type { Call, Message, Protocol } from './messenger.js';
import { logLine, saveCall, type LogLine, type SaveCall, type SaveOutcome } from './shared.js';
import { array, boolean, bytes, integer, number, object, oneOf, optional, record, string, variants, type Checker } from './validate.js';

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
  /**
   * URL of the model folder, ending in '/' (the host's model file server, or a webview URI); files are
   * fetched as `${baseUri}config.json` etc.
   */
  baseUri: string;
}

/** Why the inspected text is not exactly the user's selection; shown in the panel. */
export type SelectionNotice =
  | { kind: 'currentLine'; line: number }
  | { kind: 'firstOfSeveral'; count: number }
  | {
      kind: 'truncated';
      keptTokens: number;
      /** What cut it: the model's context, the maxTokens setting, or the memory budget (memoryBudgetMB). */
      limit: 'context' | 'maxTokens' | 'memoryBudget';
      /** The kept tokens cover the text's first `inspectedChars` of `totalChars` (UTF-16 code units). */
      inspectedChars: number;
      totalChars: number;
      /** All the text's tokens, when it was tokenized whole (a long one is tokenized only as far as inspected). */
      tokens?: number;
    };

/**
 * How the page gets the model's files: `server` fetches them in range requests from the host's model file
 * server, `resources` by webview URI, `messages` asks the host for each range (`modelFile`); the setting
 * attentionInspector.weightsTransport.
 */
export type WeightsTransport = 'server' | 'resources' | 'messages';

/** What the page needs to start the model: where it and onnxruntime-web are, and which backend to use. */
export interface EngineRef {
  model: ModelRef;
  /** Absent: `resources`. `server` and `resources` both fetch from `model.baseUri`. */
  weights?: WeightsTransport;
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
  requestId: number;
  colorScale: ColorScale;
  topK: number;
  tokens: TokenInfo[];
  notices: SelectionNotice[];
  source: SourceRef;
  /** `Date.now()` in the host when the command ran; the panel measures "command → first heatmap" from it. */
  commandEpochMs: number;
}

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
  /** Under the panel's head ablation (HoverSummary.ablation), when one ran: the same loss and guesses. */
  ablated?: { loss?: number; predictions: { text: string; p: number }[] };
}

/** Heads the panel ran ablated ("3.1" = layer 3 head 1) and what their output became. */
export interface HoverAblation {
  heads: string[];
  mode: 'zero' | 'mean';
}

export interface HoverSummary {
  layer: number;
  /** -1: average over heads. */
  head: number;
  tokens: HoverTokenSummary[];
  /** Set while the panel shows a run with these heads ablated (each token's `ablated`). */
  ablation?: HoverAblation;
}

export interface RunFacts {
  provider: string;
  adapter: string;
  tokens: number;
  timings: Record<string, number>;
  firstHeatmapMs?: number;
  /** The model that produced the result (the one its request named). */
  model?: ModelName;
  /** What the page holds after the result: onnxruntime sessions alive, and the JS heap where the browser says (Chromium). */
  resources?: PageResources;
}

/** A model as the panel names it. */
export type ModelName = Pick<ModelRef, 'id' | 'label'>;

export interface PageResources {
  liveSessions: number;
  jsHeapBytes?: number;
}

/** What the inspector webview keeps in `setState`, and the host gets back to restore the panel after a reload. */
export interface InspectorState {
  request?: Omit<InspectRequest, 'model' | 'ortBase' | 'commandEpochMs'> & { modelId: string };
  layer?: number;
  head?: number;
  /** Heads marked for ablation ('L.H'), and the mode of the ablated run shown, if one was: restored after a reload. */
  ablation?: { heads: string[]; shownMode?: HoverAblation['mode'] };
}

/** Where the page's load of a model's weights is: sent as bytes arrive (at most a few times a second) and when it ends. */
export interface WeightsLoad {
  modelId: string;
  loadedBytes: number;
  totalBytes: number;
  /** Since the load began. */
  ms: number;
  state: 'loading' | 'loaded' | 'cancelled';
  /** The way they came (absent: `resources`). */
  via?: WeightsTransport;
}

/** `length` bytes of one file of model `modelId`'s folder from `start`, read by the host. */
export interface ModelFileRange {
  modelId: string;
  name: string;
  start: number;
  length: number;
}

/** The file's size and the bytes asked for (fewer at its end); `total` -1: the file is absent. */
export interface ModelFileBytes {
  total: number;
  bytes: Uint8Array;
}

export interface InspectorHostVocabulary {
  notifications: {
    /**
     * Sent as soon as the panel opens, before the host has tokenized anything: the page starts loading
     * the model and onnxruntime-web while the inspection request is still being made.
     */
    prepare: EngineRef;
    inspect: InspectRequest;
    cancel: { requestId: number };
    settings: { colorScale: ColorScale; topK: number };
    message: { requestId?: number; kind: 'empty' | 'error'; text: string };
    /** The active model changed: the panel says when what it shows (or runs) is from another one. */
    activeModel: { model: ModelName };
    /** A model was removed from the store; `active` is the model inspections use now. */
    modelRemoved: { model: ModelName; active: ModelName };
    /** The Pin / Unpin Inspection commands: pin the inspection shown (to compare the next with it), or unpin. */
    pinInspection: { pin: boolean };
  };
  requests: Record<never, never>;
}

/**
 * A file too large for one message (the (L, H, T, T) attention .npy: 604 MB for GPT-2 small at 1,024
 * tokens), saved in parts: open (the save dialog), write each part in order, close (or abort: nothing is
 * left where the file was to go).
 */
export interface SaveStreamVocabulary {
  saveStreamOpen: Call<{ fileName: string; mime: string }, { streamId?: number; error?: string }>;
  saveStreamWrite: Call<{ streamId: number; base64: string }, { error?: string }>;
  saveStreamClose: Call<{ streamId: number; abort: boolean }, SaveOutcome>;
}

/** How far the maps of an inspection are: `layersDone` of `layers` digested (thumbnails, scores, hovers). */
export interface MapsProgress {
  requestId: number;
  layersDone: number;
  layers: number;
}

export interface InspectorPageVocabulary {
  notifications: {
    progress: { requestId: number; stage: string };
    mapsProgress: MapsProgress;
    /** The user stopped the maps of an inspection in the panel (what was drawn stays). */
    mapsCancelled: MapsProgress;
    weights: WeightsLoad;
    result: { requestId: number; facts: RunFacts };
    hoverSummary: { requestId: number; summary: HoverSummary };
    error: { requestId?: number; message: string };
    log: LogLine;
    /** An inspection the page dropped before showing it (a newer one, or its model removed), and why. */
    cancelled: { requestId: number; reason: string };
  };
  requests: { save: SaveCall; modelFile: Call<ModelFileRange, ModelFileBytes> } & SaveStreamVocabulary;
}

/** What the page handles: one host notification, with its `type`. */
export type HostMessage = Message<InspectorHostVocabulary['notifications']>;
/** What the host handles: one page notification, with its `type`. */
export type PanelMessage = Message<InspectorPageVocabulary['notifications']>;

type HostNotifications = InspectorHostVocabulary['notifications'];
type PageNotifications = InspectorPageVocabulary['notifications'];

const colorScale = oneOf<ColorScale>('linear', 'sqrt', 'log');

const engineRef = object<EngineRef>({
  model: object<ModelRef>({ id: string, label: string, baseUri: string }),
  ortBase: string,
  backend: oneOf<BackendChoice>('auto', 'webgpu', 'wasm'),
  weights: optional(oneOf<WeightsTransport>('server', 'resources', 'messages')),
});

const tokenInfo = object<TokenInfo>({ id: integer, text: string, start: integer, end: integer, line: integer, character: integer });

const selectionNotice = variants<SelectionNotice, 'kind'>('kind', {
  currentLine: object({ kind: oneOf('currentLine'), line: integer }),
  firstOfSeveral: object({ kind: oneOf('firstOfSeveral'), count: integer }),
  truncated: object<Extract<SelectionNotice, { kind: 'truncated' }>>({ kind: oneOf('truncated'), keptTokens: integer, limit: oneOf('context', 'maxTokens', 'memoryBudget'), inspectedChars: integer, totalChars: integer, tokens: optional(integer) }),
});

const sourceRef = object<SourceRef>({
  fileName: string,
  languageId: string,
  startLine: integer,
  endLine: integer,
  uri: optional(string),
  startOffset: optional(integer),
});

const inspectRequest: Checker<InspectRequest> = (value, path) =>
  engineRef(value, path) ??
  object<Omit<InspectRequest, keyof EngineRef>>({
    requestId: integer,
    colorScale,
    topK: integer,
    tokens: array(tokenInfo),
    notices: array(selectionNotice),
    source: sourceRef,
    commandEpochMs: number,
  })(value, path);

const modelName = object<ModelName>({ id: string, label: string });

const runFacts = object<RunFacts>({
  provider: string,
  adapter: string,
  tokens: integer,
  timings: record(number),
  firstHeatmapMs: optional(number),
  model: optional(modelName),
  resources: optional(object<PageResources>({ liveSessions: integer, jsHeapBytes: optional(number) })),
});

const hoverSummary = object<HoverSummary>({
  layer: integer,
  head: integer,
  tokens: array(
    object<HoverTokenSummary>({
      attends: array(object({ index: integer, weight: number })),
      heads: array(object({ layer: integer, head: integer, index: integer, weight: number })),
      loss: optional(number),
      predictions: array(object({ text: string, p: number })),
      ablated: optional(object<NonNullable<HoverTokenSummary['ablated']>>({ loss: optional(number), predictions: array(object({ text: string, p: number })) })),
    }),
  ),
  ablation: optional(object<HoverAblation>({ heads: array(string), mode: oneOf('zero', 'mean') })),
});

type StreamParams<K extends keyof SaveStreamVocabulary> = SaveStreamVocabulary[K]['params'];
type StreamResponse<K extends keyof SaveStreamVocabulary> = SaveStreamVocabulary[K]['response'];

const mapsProgress = object<MapsProgress>({ requestId: integer, layersDone: integer, layers: integer });

export const inspectorProtocol: Protocol<InspectorHostVocabulary, InspectorPageVocabulary> = {
  version: 2,
  host: {
    notifications: {
      prepare: engineRef,
      inspect: inspectRequest,
      cancel: object<HostNotifications['cancel']>({ requestId: integer }),
      settings: object<HostNotifications['settings']>({ colorScale, topK: integer }),
      message: object<HostNotifications['message']>({ requestId: optional(integer), kind: oneOf('empty', 'error'), text: string }),
      activeModel: object<HostNotifications['activeModel']>({ model: modelName }),
      modelRemoved: object<HostNotifications['modelRemoved']>({ model: modelName, active: modelName }),
      pinInspection: object<HostNotifications['pinInspection']>({ pin: boolean }),
    },
    requests: {},
  },
  page: {
    notifications: {
      progress: object<PageNotifications['progress']>({ requestId: integer, stage: string }),
      mapsProgress: mapsProgress,
      mapsCancelled: mapsProgress,
      weights: object<WeightsLoad>({ modelId: string, loadedBytes: integer, totalBytes: integer, ms: number, state: oneOf('loading', 'loaded', 'cancelled'), via: optional(oneOf<WeightsTransport>('server', 'resources', 'messages')) }),
      result: object<PageNotifications['result']>({ requestId: integer, facts: runFacts }),
      hoverSummary: object<PageNotifications['hoverSummary']>({ requestId: integer, summary: hoverSummary }),
      error: object<PageNotifications['error']>({ requestId: optional(integer), message: string }),
      log: logLine,
      cancelled: object<PageNotifications['cancelled']>({ requestId: integer, reason: string }),
    },
    requests: {
      save: saveCall,
      saveStreamOpen: { params: object<StreamParams<'saveStreamOpen'>>({ fileName: string, mime: string }), response: object<StreamResponse<'saveStreamOpen'>>({ streamId: optional(integer), error: optional(string) }) },
      saveStreamWrite: { params: object<StreamParams<'saveStreamWrite'>>({ streamId: integer, base64: string }), response: object<StreamResponse<'saveStreamWrite'>>({ error: optional(string) }) },
      saveStreamClose: { params: object<StreamParams<'saveStreamClose'>>({ streamId: integer, abort: boolean }), response: saveCall.response },
      modelFile: {
        params: object<ModelFileRange>({ modelId: string, name: string, start: integer, length: integer }),
        response: object<ModelFileBytes>({ total: integer, bytes }),
      },
    },
  },
};
