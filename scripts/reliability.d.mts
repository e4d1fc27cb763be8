// Types of scripts/reliability.mjs, which is plain JavaScript because scripts/test.mjs runs without tsx.
export const RELIABILITY_LOG: string;
export function clearReliabilityLog(file?: string): void;
export interface ReliabilityRow {
  kind: string;
  tried: number;
  clearError: number;
  handled: number;
  unclear: number;
  lost: number;
  /** Whether any observation of this kind counted models lost (else the table shows –: no store, or judged in another row). */
  storeInvolved: boolean;
}
export function readReliability(file?: string): ReliabilityRow[];
export function reliabilityTable(rows: ReliabilityRow[]): string;
