/** What the Benchmark page leaves on window in standalone runs (CLI, tests), read back through playwright. */
import type { BenchReport } from '../../kernels/bench/types.js';

declare global {
  interface Window {
    /** The finished report, or the error that stopped the run. */
    benchReport?: BenchReport;
    benchError?: string;
  }
}
