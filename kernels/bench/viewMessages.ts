/**
 * Messages between the benchmark view and the extension host. (Kept here until src/protocol.ts, the
 * shared host ⇄ webview protocol, exists; then they move there.)
 */

export type BenchmarkToHost =
  | { type: 'ready' }
  | { type: 'save'; format: 'csv' | 'json' | 'png'; fileName: string; data: string; base64: boolean }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type HostToBenchmark = { type: 'run' };
