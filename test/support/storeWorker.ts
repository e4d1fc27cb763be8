/**
 * One "window" of the multi-process store test (test/unit/modelStoreProcesses.test.ts), run as its own process:
 * `node --import tsx test/support/storeWorker.ts '<json config>'`. It does `rounds` seeded random operations on
 * the shared store — download the id every worker downloads, download its own id, import a folder, remove a
 * model it sees, reopen the store as a new window would — and prints one JSON line per completed operation
 * (with start and end times), each store log line, and a summary. With `crashHoldingLock` it ends by exiting
 * while it holds the store's lock, as a window killed in a critical section would.
 */
import * as path from 'node:path';
import { ModelStore, type DownloadSpec } from '../../src/models/modelStore.js';
import { StoreLock } from '../../src/models/storeLock.js';
import { validateModelFolder } from '../../src/models/validateModel.js';
import { mulberry32 } from '../unit/tinyGpt2Folder.js';

export interface WorkerConfig {
  index: number;
  root: string;
  hub: string;
  /** What every worker downloads, and what only this one does. */
  shared: DownloadSpec;
  own: DownloadSpec;
  importSource: string;
  seed: number;
  rounds: number;
  crashHoldingLock: boolean;
}

export type OpKind = 'download-shared' | 'download-own' | 'import' | 'remove' | 'open';

export type WorkerLine =
  | { op: OpKind; worker: number; id?: string; start: number; end: number; error?: string }
  | { log: string; worker: number }
  | { summary: { waits: number }; worker: number };

const cfg = JSON.parse(process.argv[2]) as WorkerConfig;
const rand = mulberry32(cfg.seed);
const now = () => performance.timeOrigin + performance.now();
const emit = (line: WorkerLine) => process.stdout.write(`${JSON.stringify(line)}\n`);
let waits = 0;

const newStore = () => new ModelStore(cfg.root, validateModelFolder, (log) => emit({ log, worker: cfg.index }), { onWait: () => waits++ });
const fast = { backoffMs: 10, maxAttempts: 3 };

function pick(): OpKind {
  const r = rand();
  return r < 0.25 ? 'download-shared' : r < 0.45 ? 'download-own' : r < 0.6 ? 'import' : r < 0.85 ? 'remove' : 'open';
}

async function main(): Promise<void> {
  let store = newStore();
  await store.open();
  for (let round = 0; round < cfg.rounds; round++) {
    const op = pick();
    const start = now();
    let id: string | undefined;
    try {
      if (op === 'download-shared') id = (await store.download(cfg.shared, cfg.hub, fast)).id;
      else if (op === 'download-own') id = (await store.download(cfg.own, cfg.hub, fast)).id;
      else if (op === 'import') id = (await store.importFolder(cfg.importSource, { label: 'imp' })).id;
      else if (op === 'remove') {
        await store.refresh();
        const ids = store.list().map((e) => e.id);
        id = ids.length ? ids[Math.floor(rand() * ids.length)] : cfg.shared.id;
        await store.remove(id);
      } else {
        store = newStore();
        await store.open();
      }
      emit({ op, worker: cfg.index, id, start, end: now() });
    } catch (e) {
      emit({ op, worker: cfg.index, id, start, end: now(), error: (e as Error).stack ?? String(e) });
    }
  }
  emit({ summary: { waits }, worker: cfg.index });
  if (cfg.crashHoldingLock) await new StoreLock(path.join(cfg.root, 'manifest.lock')).withLock(async () => process.exit(0));
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
