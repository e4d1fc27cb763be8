/**
 * The model store under the extension's global storage: `models/<id>/` folders plus `manifest.json`.
 * A model is registered only after every file arrived verified and the core's loader accepted the folder;
 * until then it lives in `.staging/`, which is removed at open. No `vscode` here.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { resolveUrl, type CatalogModel } from './catalog.js';
import { MODEL_FILES, requireSafetensors } from './checkpointPolicy.js';
import { checkFreeSpace, DownloadError, downloadFile, sha256OfFile, type DownloadProgress } from './downloader.js';
import { convertSafetensorsToF16 } from './fp16Convert.js';
import { checkSafeName, resolveInside, toSafeId, UnsafeNameError } from './safePath.js';

export type ModelSource = 'embedded' | 'download' | 'import';

export interface ModelEntry {
  id: string;
  label: string;
  source: ModelSource;
  /** Absolute path of the model folder. */
  folder: string;
  /** Bytes on disk. */
  size: number;
  sha256s: Record<string, string>;
  /** Weight dtype as stored (`F32`, `F16`, …). */
  dtype: string;
  /** Where it came from: the repository URL or the imported folder. */
  origin?: string;
  addedAt?: string;
}

/** Loads the folder with the core's loader; throws when it is not a complete, consistent model. */
export type ModelValidator = (dir: string) => Promise<{ dtype: string }>;

export type DownloadSpec = Pick<CatalogModel, 'id' | 'label' | 'repo' | 'files' | 'optionalFiles' | 'sha256'> & { sizeBytes?: number };

export interface StoreDownloadOptions {
  signal?: AbortSignal;
  onProgress?: (file: string, p: DownloadProgress, doneBytes: number) => void;
  /** Passed to the downloader (tests shorten these). */
  backoffMs?: number;
  stallTimeoutMs?: number;
  maxAttempts?: number;
}

export interface ImportOptions {
  label?: string;
  /** Store F32 tensors as F16. */
  toFp16?: boolean;
}

interface ManifestFile {
  version: 1;
  models: Array<Omit<ModelEntry, 'folder'> & { folder: string }>;
}

const MANIFEST = 'manifest.json';
const MODELS = 'models';
const STAGING = '.staging';

export class ModelStore {
  private entries = new Map<string, ModelEntry>();
  private readonly inFlight = new Map<string, Promise<ModelEntry>>();
  /** Ids removed here, so a manifest merge does not bring them back. */
  private readonly removed = new Set<string>();
  private manifestWrite: Promise<void> = Promise.resolve();

  constructor(readonly root: string, private readonly validate: ModelValidator, private readonly log: (line: string) => void = () => {}) {}

  /** Reads the manifest, removes staging leftovers and folders no entry owns, drops entries whose folder is gone. */
  async open(): Promise<void> {
    await fsp.mkdir(path.join(this.root, MODELS), { recursive: true });
    await this.removeDeadStaging();
    for (const f of await fsp.readdir(this.root)) {
      if (f.startsWith(`${MANIFEST}.tmp`)) await fsp.rm(path.join(this.root, f), { force: true });
    }
    this.entries.clear();
    for (const m of (await this.readManifest()).models ?? []) {
      const folder = safeFolder(this.root, m.id);
      if (folder && (await exists(path.join(folder, 'model.safetensors')))) this.entries.set(m.id, { ...m, folder });
      else this.log(`Dropped model "${m.id}" from the manifest: its files are missing or its id is unsafe.`);
    }
    for (const dir of await fsp.readdir(path.join(this.root, MODELS))) {
      if (!this.entries.has(dir)) {
        this.log(`Removed unregistered folder models/${dir} (left by an interrupted operation).`);
        await fsp.rm(path.join(this.root, MODELS, dir), { recursive: true, force: true });
      }
    }
    await this.saveManifest();
  }

  /**
   * Staging folders are named `<id>-<pid>-<random>`; those of processes that are gone are leftovers.
   * Another window's extension host (same global storage) may be downloading into its own right now.
   */
  private async removeDeadStaging(): Promise<void> {
    const staging = path.join(this.root, STAGING);
    const dirs = await fsp.readdir(staging).catch(() => [] as string[]);
    for (const dir of dirs) {
      const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(dir)?.[1]);
      if (pid && pid !== process.pid && processAlive(pid)) continue;
      await fsp.rm(path.join(staging, dir), { recursive: true, force: true });
      this.log(`Removed leftover temporary files .staging/${dir}.`);
    }
  }

  private async readManifest(): Promise<Partial<ManifestFile>> {
    try {
      return JSON.parse(await fsp.readFile(path.join(this.root, MANIFEST), 'utf8')) as ManifestFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log(`Model manifest unreadable, starting empty: ${(e as Error).message}`);
      return {};
    }
  }

  list(): ModelEntry[] {
    return [...this.entries.values()];
  }

  get(id: string): ModelEntry | undefined {
    return this.entries.get(id);
  }

  isDownloading(id: string): boolean {
    return this.inFlight.has(id);
  }

  /** Downloads a model once: a second request for the same id while one runs gets the same promise. */
  download(spec: DownloadSpec, mirror: string, options: StoreDownloadOptions = {}): Promise<ModelEntry> {
    const have = this.entries.get(spec.id);
    if (have) return Promise.resolve(have);
    const running = this.inFlight.get(spec.id);
    if (running) return running;
    const p = this.downloadNow(spec, mirror, options).finally(() => this.inFlight.delete(spec.id));
    this.inFlight.set(spec.id, p);
    return p;
  }

  private async downloadNow(spec: DownloadSpec, mirror: string, o: StoreDownloadOptions): Promise<ModelEntry> {
    checkSafeName(spec.id);
    const files = [...spec.files, ...spec.optionalFiles];
    for (const f of files) checkSafeName(f);
    await checkFreeSpace(this.root, spec.sizeBytes || (await this.remoteWeightsSize(spec, mirror, o.signal)));
    return this.stageAndRegister(spec.id, async (staging) => {
      const sha256s: Record<string, string> = {};
      let doneBytes = 0;
      for (const file of files) {
        const url = resolveUrl(mirror, spec.repo, file);
        try {
          const r = await downloadFile(url, resolveInside(staging, `${file}.partial`), resolveInside(staging, file), {
            signal: o.signal,
            expected: spec.sha256?.[file] ? { sha256: spec.sha256[file] } : undefined,
            onProgress: (p) => o.onProgress?.(file, p, doneBytes + p.received),
            backoffMs: o.backoffMs,
            stallTimeoutMs: o.stallTimeoutMs,
            maxAttempts: o.maxAttempts,
          });
          doneBytes += r.size;
          sha256s[file] = r.sha256;
          this.log(`Downloaded ${file} of ${spec.id}: ${r.size} bytes, sha256 ${r.sha256}${r.resumes ? `, resumed ${r.resumes}×` : ''}${r.attempts > 1 ? `, ${r.attempts} attempts` : ''}.`);
        } catch (e) {
          if (!(e instanceof DownloadError && e.kind === 'not-found')) throw e;
          if (spec.optionalFiles.includes(file)) continue;
          if (file === 'model.safetensors') await this.refuseIfPickleOnly(spec, mirror, o.signal);
          throw e;
        }
      }
      return { label: spec.label, source: 'download', sha256s, origin: `${mirror.replace(/\/+$/, '')}/${spec.repo}` };
    });
  }

  /** The weights' size as the hub states it (X-Linked-Size of the 302), for repositories outside the catalog; 0 when unknown. */
  private async remoteWeightsSize(spec: DownloadSpec, mirror: string, signal?: AbortSignal): Promise<number> {
    const res = await fetch(resolveUrl(mirror, spec.repo, 'model.safetensors'), { method: 'HEAD', redirect: 'manual', signal }).catch(() => undefined);
    return Number(res?.headers.get('x-linked-size')) || 0;
  }

  /** A repository without model.safetensors but with pytorch_model.bin gets the explanation, not a bare 404. */
  private async refuseIfPickleOnly(spec: DownloadSpec, mirror: string, signal?: AbortSignal): Promise<void> {
    const url = resolveUrl(mirror, spec.repo, 'pytorch_model.bin');
    const res = await fetch(url, { method: 'HEAD', redirect: 'manual', signal }).catch(() => undefined);
    if (res && res.status >= 200 && res.status < 400) requireSafetensors(['pytorch_model.bin'], `The repository ${spec.repo}`);
  }

  /** Copies a local Hugging Face folder into the store (regular files of known names only), optionally as fp16. */
  async importFolder(source: string, options: ImportOptions = {}): Promise<ModelEntry> {
    const dirents = await fsp.readdir(source, { withFileTypes: true });
    requireSafetensors(dirents.map((d) => d.name), `The folder ${source}`);
    const id = this.uniqueId(toSafeId(options.label ?? path.basename(source)));
    return this.stageAndRegister(id, async (staging) => {
      const sha256s: Record<string, string> = {};
      for (const d of dirents) {
        if (!(MODEL_FILES as readonly string[]).includes(d.name)) continue;
        if (!d.isFile()) throw new UnsafeNameError(d.name, 'it is a link or not a regular file');
        const target = resolveInside(staging, d.name);
        if (d.name === 'model.safetensors' && options.toFp16) {
          const { bytes, converted } = convertSafetensorsToF16(await fsp.readFile(path.join(source, d.name)));
          await fsp.writeFile(target, bytes);
          this.log(`Stored ${converted} F32 tensors of ${source} as F16.`);
        } else {
          await fsp.copyFile(path.join(source, d.name), target);
        }
        sha256s[d.name] = await sha256OfFile(target);
      }
      return { label: options.label ?? path.basename(source), source: 'import', sha256s, origin: source };
    });
  }

  /** Unregisters and deletes; a crash in between leaves an unowned folder that `open` removes. */
  async remove(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.removed.add(id);
    await this.saveManifest();
    await fsp.rm(entry.folder, { recursive: true, force: true });
  }

  private uniqueId(base: string): string {
    let id = base;
    for (let n = 2; this.entries.has(id) || this.inFlight.has(id); n++) id = `${base}-${n}`;
    return id;
  }

  /**
   * Fills a fresh staging folder, validates it with the core's loader, then moves it into `models/<id>`
   * with one rename and records it. Any failure removes the staging folder, so nothing partial is registered.
   */
  private async stageAndRegister(id: string, fill: (staging: string) => Promise<Pick<ModelEntry, 'label' | 'source' | 'sha256s' | 'origin'>>): Promise<ModelEntry> {
    const staging = resolveInside(path.join(this.root, STAGING), `${id}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fsp.mkdir(staging, { recursive: true });
    try {
      const filled = await fill(staging);
      const { dtype } = await this.validate(staging);
      const folder = resolveInside(path.join(this.root, MODELS), id);
      await fsp.rm(folder, { recursive: true, force: true });
      await fsp.rename(staging, folder);
      let size = 0;
      for (const f of await fsp.readdir(folder)) size += (await fsp.stat(path.join(folder, f))).size;
      const entry: ModelEntry = { id, ...filled, folder, size, dtype, addedAt: new Date().toISOString() };
      this.entries.set(id, entry);
      this.removed.delete(id);
      await this.saveManifest();
      return entry;
    } catch (e) {
      await fsp.rm(staging, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Writes the manifest to a temporary file and renames it over the old one; writes are serialized.
   * Entries another window added meanwhile (same global storage) are adopted rather than overwritten.
   */
  private saveManifest(): Promise<void> {
    const write = async () => {
      for (const m of (await this.readManifest()).models ?? []) {
        if (this.entries.has(m.id) || this.removed.has(m.id)) continue;
        const folder = safeFolder(this.root, m.id);
        if (folder && (await exists(path.join(folder, 'model.safetensors')))) this.entries.set(m.id, { ...m, folder });
      }
      const manifest: ManifestFile = { version: 1, models: this.list().map((e) => ({ ...e, folder: `${MODELS}/${e.id}` })) };
      const tmp = path.join(this.root, `${MANIFEST}.tmp-${randomBytes(4).toString('hex')}`);
      await fsp.writeFile(tmp, JSON.stringify(manifest, null, 2));
      await fsp.rename(tmp, path.join(this.root, MANIFEST));
    };
    this.manifestWrite = this.manifestWrite.then(write, write);
    return this.manifestWrite;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The folder of a store id, or undefined when the id (e.g. from a tampered manifest) would leave the store. */
function safeFolder(root: string, id: string): string | undefined {
  try {
    return resolveInside(path.join(root, MODELS), id);
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(() => true, () => false);
}
