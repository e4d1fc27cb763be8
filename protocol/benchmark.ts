/**
 * The Benchmark view's protocol. The benchmark runs in the page (runs and their cancellation never leave
 * it); the host only writes the page's log lines and saves its exports.
 */
import type { Message, Protocol } from './messenger.js';
import { logLine, saveCall, type LogLine, type SaveCall } from './shared.js';

export interface BenchmarkHostVocabulary {
  notifications: Record<never, never>;
  requests: Record<never, never>;
}

export interface BenchmarkPageVocabulary {
  notifications: { log: LogLine };
  requests: { save: SaveCall };
}

export const benchmarkProtocol: Protocol<BenchmarkHostVocabulary, BenchmarkPageVocabulary> = {
  version: 2,
  host: { notifications: {}, requests: {} },
  page: { notifications: { log: logLine }, requests: { save: saveCall } },
};

/** What the host handles: one page notification, with its `type`. */
export type BenchmarkPageMessage = Message<BenchmarkPageVocabulary['notifications']>;
