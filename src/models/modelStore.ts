/**
 * The model store under the extension's global storage: `models/<id>/` folders plus `manifest.json`.
 * A model is registered only after every file arrived verified and the core's loader accepted the folder;
 * until then it lives in `.staging/`, which is removed at open. No `vscode` here.
 *
 * Several windows share one store. Every change of `models/` and of the manifest happens under
 * `manifest.lock` (storeLock.ts) and applies this process's one change to the manifest as it is on disk at
 * that moment: the rename of a finished folder together with its entry, a removal, open's sweep. So under
 * the lock a folder without an entry can only be the leftover of a process that died, and open may delete
 * it; and no process writes back an entry another one removed. Long work (downloading, copying,
 * validating, deleting files) stays outside the lock, in this process's own staging folders. A lock rather
 * than owner markers on the folders, because the manifest's read-modify-write needs one anyway.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { resolveUrl, type CatalogModel } from './catalog.js';
import { isModelFile, requireSafetensors } from './checkpointPolicy.js';
import { fileSizeLimit } from '../../kernels/model/fileLimits.js';
import { parseSafetensorsIndex, SAFETENSORS_INDEX } from '../../kernels/model/safetensors.js';
import { checkFreeSpace, diskFullError, DownloadError, downloadFile, isDiskFull, refuseAboveSize, sha256OfFile, headersFor, type DownloadProgress, type HubAuthorization } from './downloader.js';
import { explainAccess, mirrorAuthorization } from './hubAccess.js';
import { convertSafetensorsToF16 } from './fp16Convert.js';
import { checkSafeName, resolveInside, toSafeId } from './safePath.js';
import { closeSourceFiles, copySourceFile, openSourceFiles, readSourceFile } from './sourceFiles.js';
import { processAlive, StoreLock, type LockOptions } from './storeLock.js';

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

export type DownloadSpec = Pick<CatalogModel, 'id' | 'label' | 'repo' | 'files' | 'optionalFiles' | 'sha256'> & { sizeBytes?: number; gated?: boolean };

export interface StoreDownloadOptions {
  signal?: AbortSignal;
  onProgress?: (file: string, p: DownloadProgress, doneBytes: number) => void;
  /** The user's hub access token (gated repositories), sent only to the mirror. */
  token?: string;
  /** Passed to the downloader (tests shorten these). */
  backoffMs?: number;
  stallTimeoutMs?: number;
  maxAttempts?: number;
}

/** A download a process did not finish (its window closed or reloaded, it crashed): found and swept by `open`. */
export interface InterruptedDownload {
  id: string;
  label: string;
  repo: string;
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
const LOCK = 'manifest.lock';

export class ModelStore {
  /** This process's last view of the manifest: list() and get() answer from it; refresh() re-reads it. */
  private entries = new Map<string, ModelEntry>();
  /** Counts the changes made here, so a refresh that read the manifest before one does not undo it. */
  private changes = 0;
  private readonly inFlight = new Map<string, Promise<ModelEntry>>();
  private readonly lock: StoreLock;
  private interrupted: InterruptedDownload[] = [];

  constructor(readonly root: string, private readonly validate: ModelValidator, private readonly log: (line: string) => void = () => {}, lockOptions: LockOptions = {}) {
    this.lock = new StoreLock(path.join(root, LOCK), { log, ...lockOptions });
  }

  /** Reads the manifest, removes staging leftovers and folders no entry owns, drops entries whose folder is gone. */
  async open(): Promise<void> {
    await fsp.mkdir(path.join(this.root, MODELS), { recursive: true });
    await this.removeDeadStaging();
    const orphans = await this.change(async (models) => {
      for (const f of await fsp.readdir(this.root)) {
        if (f.startsWith(`${MANIFEST}.tmp`)) await fsp.rm(path.join(this.root, f), { force: true });
      }
      const moved: string[] = [];
      for (const dir of await fsp.readdir(path.join(this.root, MODELS))) {
        if (models.has(dir)) continue;
        this.log(`Removed unregistered folder models/${dir} (left by an interrupted operation).`);
        moved.push(await this.moveToTrash(path.join(this.root, MODELS, dir)));
      }
      return moved;
    });
    for (const dir of orphans) await fsp.rm(dir, { recursive: true, force: true });
  }

  /** The downloads of processes gone whose leftovers the last `open` removed (each is reported by one open only). */
  get interruptedDownloads(): readonly InterruptedDownload[] {
    return this.interrupted;
  }

  /** Re-reads the manifest, which another window may have changed. */
  async refresh(): Promise<void> {
    const changes = this.changes;
    const { models } = await this.readEntries();
    if (changes === this.changes) this.entries = models;
  }

  /**
   * Staging folders are named `<id>-<pid>-<random>`; those of processes that are gone are leftovers. A
   * download's folder has a note beside it (`<folder>.json`, what was being downloaded), so that an
   * interrupted download can be named and offered again. Another window's extension host (same global
   * storage) may be downloading into its own right now.
   */
  private async removeDeadStaging(): Promise<void> {
    const staging = path.join(this.root, STAGING);
    const dirs = await fsp.readdir(staging).catch(() => [] as string[]);
    this.interrupted = [];
    for (const dir of dirs) {
      const pid = Number(/-(\d+)-[0-9a-f]+(\.json)?$/.exec(dir)?.[1]);
      if (pid && pid !== process.pid && processAlive(pid)) continue;
      const p = path.join(staging, dir);
      if (dir.endsWith('.json')) {
        const note = await readDownloadNote(p);
        if (note) this.interrupted.push(note);
        await fsp.rm(p, { force: true });
        continue;
      }
      await fsp.rm(p, { recursive: true, force: true });
      this.log(`Removed leftover temporary files .staging/${dir}.`);
    }
    for (const d of this.interrupted) this.log(`The download of ${d.label} (${d.repo}) was interrupted; its partial files were removed.`);
  }

  /** The manifest as it is on disk: entries with an unsafe id or without their weights file are left out and named. */
  private async readEntries(): Promise<{ models: Map<string, ModelEntry>; dropped: string[] }> {
    let manifest: Partial<ManifestFile> = {};
    try {
      manifest = JSON.parse(await fsp.readFile(path.join(this.root, MANIFEST), 'utf8')) as ManifestFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log(`Model manifest unreadable, starting empty: ${(e as Error).message}`);
    }
    const models = new Map<string, ModelEntry>();
    const dropped: string[] = [];
    for (const m of manifest.models ?? []) {
      const folder = safeFolder(this.root, m.id);
      if (folder && (await exists(path.join(folder, 'model.safetensors')))) models.set(m.id, { ...m, folder });
      else dropped.push(m.id);
    }
    return { models, dropped };
  }

  /**
   * Applies one change to the manifest as it is on disk now, under the lock, writes it and takes it as this
   * process's view. Nothing is written when `apply` throws.
   */
  private change<T>(apply: (models: Map<string, ModelEntry>) => Promise<T>): Promise<T> {
    return this.lock.withLock(async () => {
      const { models, dropped } = await this.readEntries();
      for (const id of dropped) this.log(`Dropped model "${id}" from the manifest: its files are missing or its id is unsafe.`);
      const result = await apply(models);
      await this.writeManifest(models);
      this.entries = models;
      this.changes++;
      return result;
    });
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
    const running = this.inFlight.get(spec.id);
    if (running) return running;
    const p = this.downloadNow(spec, mirror, options).finally(() => this.inFlight.delete(spec.id));
    this.inFlight.set(spec.id, p);
    return p;
  }

  private async downloadNow(spec: DownloadSpec, mirror: string, o: StoreDownloadOptions): Promise<ModelEntry> {
    checkSafeName(spec.id);
    for (const f of [...spec.files, ...spec.optionalFiles]) checkSafeName(f);
    await this.refresh();
    const have = this.entries.get(spec.id);
    if (have) return have;
    const auth = mirrorAuthorization(mirror, o.token);
    try {
      const needed = spec.sizeBytes || (await this.remoteWeightsSize(spec, mirror, auth, o.signal));
      await checkFreeSpace(this.root, needed);
      // Another window may register the same id meanwhile; then its copy is kept and this one dropped.
      const note: InterruptedDownload = { id: spec.id, label: spec.label, repo: spec.repo };
      return await this.explainingDiskFull(needed, () => this.stageAndRegister(spec.id, (models) => models.get(spec.id) ?? spec.id, note, (staging) => this.fetchFiles(spec, mirror, auth, o, staging)));
    } catch (e) {
      throw explainAccess(e, spec.repo, mirror, spec.gated === true, auth !== undefined);
    }
  }

  /**
   * Downloads the spec's files into `staging`. Weights split into shards are found as the hub has them: when
   * `model.safetensors` is absent, `model.safetensors.index.json` is fetched instead, and every shard it names.
   */
  private async fetchFiles(spec: DownloadSpec, mirror: string, auth: HubAuthorization | undefined, o: StoreDownloadOptions, staging: string): Promise<Pick<ModelEntry, 'label' | 'source' | 'sha256s' | 'origin'>> {
    const sha256s: Record<string, string> = {};
    let doneBytes = 0;
    const queue = [...spec.files, ...spec.optionalFiles];
    const optional = new Set(spec.optionalFiles);
    for (let i = 0; i < queue.length; i++) {
      const file = queue[i]!;
      const url = resolveUrl(mirror, spec.repo, file);
      try {
        const r = await downloadFile(url, resolveInside(staging, `${file}.partial`), resolveInside(staging, file), {
          signal: o.signal,
          expected: spec.sha256?.[file] ? { sha256: spec.sha256[file] } : undefined,
          onProgress: (p) => o.onProgress?.(file, p, doneBytes + p.received),
          backoffMs: o.backoffMs,
          stallTimeoutMs: o.stallTimeoutMs,
          maxAttempts: o.maxAttempts,
          authorization: auth,
          maxSize: loaderLimit(file),
        });
        doneBytes += r.size;
        sha256s[file] = r.sha256;
        this.log(`Downloaded ${file} of ${spec.id}: ${r.size} bytes, sha256 ${r.sha256}${r.resumes ? `, resumed ${r.resumes}×` : ''}${r.attempts > 1 ? `, ${r.attempts} attempts` : ''}.`);
        if (file === SAFETENSORS_INDEX) {
          const index = parseSafetensorsIndex(new Uint8Array(await fsp.readFile(resolveInside(staging, file))), SAFETENSORS_INDEX);
          for (const shard of index.shards) if (!queue.includes(checkSafeName(shard))) queue.push(shard);
        }
      } catch (e) {
        if (!(e instanceof DownloadError && e.kind === 'not-found')) throw e;
        if (optional.has(file)) continue;
        if (file === 'model.safetensors' && !queue.includes(SAFETENSORS_INDEX)) {
          queue.push(SAFETENSORS_INDEX);
          this.log(`${spec.repo} has no model.safetensors; looking for ${SAFETENSORS_INDEX} (sharded weights).`);
          continue;
        }
        if (file !== SAFETENSORS_INDEX || spec.files.includes(SAFETENSORS_INDEX)) throw e;
        await this.refuseIfPickleOnly(spec, mirror, auth, o.signal);
        throw new DownloadError('not-found', `${spec.repo} has neither model.safetensors nor ${SAFETENSORS_INDEX} (404 for both).`);
      }
    }
    return { label: spec.label, source: 'download', sha256s, origin: `${mirror.replace(/\/+$/, '')}/${spec.repo}` };
  }

  /** The weights' size as the hub states it (X-Linked-Size of the 302), for repositories outside the catalog; 0 when unknown. */
  private async remoteWeightsSize(spec: DownloadSpec, mirror: string, auth: HubAuthorization | undefined, signal?: AbortSignal): Promise<number> {
    const res = await headOnMirror(resolveUrl(mirror, spec.repo, 'model.safetensors'), auth, signal);
    const size = Number(res?.headers.get('x-linked-size')) || 0;
    // Refused before the free-space check: a file the loader could not read is not worth the space.
    refuseAboveSize(resolveUrl(mirror, spec.repo, 'model.safetensors'), size, loaderLimit('model.safetensors'));
    return size;
  }

  /** A repository without model.safetensors but with pytorch_model.bin gets the explanation, not a bare 404. */
  private async refuseIfPickleOnly(spec: DownloadSpec, mirror: string, auth: HubAuthorization | undefined, signal?: AbortSignal): Promise<void> {
    const res = await headOnMirror(resolveUrl(mirror, spec.repo, 'pytorch_model.bin'), auth, signal);
    if (res && res.status >= 200 && res.status < 400) requireSafetensors(['pytorch_model.bin'], `The repository ${spec.repo}`);
  }

  /**
   * Copies a local Hugging Face folder into the store (regular files of known names only, each within its
   * size limit, all checked before anything is copied), optionally as fp16.
   */
  async importFolder(source: string, options: ImportOptions = {}): Promise<ModelEntry> {
    const names = await fsp.readdir(source);
    requireSafetensors(names, `The folder ${source}`);
    const files = await openSourceFiles(source, names.filter(isModelFile));
    try {
      const needed = files.reduce((sum, f) => sum + f.size, 0);
      await checkFreeSpace(this.root, needed);
      const base = toSafeId(options.label ?? path.basename(source));
      return await this.explainingDiskFull(needed, () => this.stageAndRegister(base, (models) => this.uniqueId(base, models), undefined, async (staging) => {
        const sha256s: Record<string, string> = {};
        for (const f of files) {
          const target = resolveInside(staging, f.name);
          if (f.name === 'model.safetensors' && options.toFp16) {
            const { bytes, converted } = convertSafetensorsToF16(await readSourceFile(f));
            await fsp.writeFile(target, bytes);
            this.log(`Stored ${converted} F32 tensors of ${source} as F16.`);
          } else {
            await copySourceFile(f, target);
          }
          sha256s[f.name] = await sha256OfFile(target);
        }
        return { label: options.label ?? path.basename(source), source: 'import', sha256s, origin: source };
      }));
    } finally {
      await closeSourceFiles(files);
    }
  }

  /** Runs `work`, turning a write that found the disk full into a DiskSpaceError measured after its partial files are gone. */
  private async explainingDiskFull<T>(needed: number, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      if (isDiskFull(e)) throw await diskFullError(this.root, needed, e);
      throw e;
    }
  }

  /**
   * Unregisters and moves the folder out of `models/` under the lock, then deletes it; a crash in between
   * leaves a staging folder of a dead process, which `open` removes. On a disk too full to write the lock or
   * the manifest, the weights are deleted first (an entry without them is dropped at the next read, in any
   * window), which frees the space to unregister the rest.
   */
  async remove(id: string): Promise<void> {
    const unregister = async (models: Map<string, ModelEntry>): Promise<string | undefined> => {
      const folder = models.get(id)?.folder ?? safeFolder(this.root, id);
      models.delete(id);
      // Under the lock a folder without an entry is a leftover, so it goes as well.
      return folder && (await exists(folder)) ? this.moveToTrash(folder) : undefined;
    };
    const trash = await this.change(unregister).catch(async (e: unknown) => {
      const folder = safeFolder(this.root, id);
      if (!isDiskFull(e) || !folder || !this.entries.has(id)) throw e;
      this.log(`The disk is full: deleting the weights of "${id}" before unregistering it.`);
      await fsp.rm(path.join(folder, 'model.safetensors'), { force: true });
      return this.change(unregister);
    });
    if (trash) await fsp.rm(trash, { recursive: true, force: true });
  }

  private uniqueId(base: string, models: ReadonlyMap<string, ModelEntry>): string {
    let id = base;
    for (let n = 2; models.has(id) || this.inFlight.has(id); n++) id = `${base}-${n}`;
    return id;
  }

  /**
   * Fills a fresh staging folder and validates it with the core's loader, outside the lock; then, under it,
   * picks the id (`idIn` may answer an entry registered meanwhile, which is kept) and moves the folder into
   * `models/<id>` with one rename together with its entry. The staging folder is always removed, so nothing
   * partial is registered.
   */
  private async stageAndRegister(
    name: string,
    idIn: (models: ReadonlyMap<string, ModelEntry>) => string | ModelEntry,
    note: InterruptedDownload | undefined,
    fill: (staging: string) => Promise<Pick<ModelEntry, 'label' | 'source' | 'sha256s' | 'origin'>>,
  ): Promise<ModelEntry> {
    const staging = this.stagingFolder(name);
    await fsp.mkdir(staging, { recursive: true });
    if (note) await fsp.writeFile(`${staging}.json`, JSON.stringify(note));
    try {
      const filled = await fill(staging);
      const { dtype } = await this.validate(staging);
      let size = 0;
      for (const f of await fsp.readdir(staging)) size += (await fsp.stat(path.join(staging, f))).size;
      return await this.change(async (models) => {
        const id = idIn(models);
        if (typeof id !== 'string') return id;
        const folder = resolveInside(path.join(this.root, MODELS), id);
        // Under the lock a folder without an entry is the leftover of a process that died before registering it.
        await fsp.rm(folder, { recursive: true, force: true });
        await fsp.rename(staging, folder);
        const entry: ModelEntry = { id, ...filled, folder, size, dtype, addedAt: new Date().toISOString() };
        models.set(id, entry);
        return entry;
      });
    } finally {
      await fsp.rm(staging, { recursive: true, force: true });
      if (note) await fsp.rm(`${staging}.json`, { force: true });
    }
  }

  /** A new folder under `.staging/`, named so that `open` knows whether the process that made it is alive. */
  private stagingFolder(name: string): string {
    return resolveInside(path.join(this.root, STAGING), `${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /** Moves a folder out of `models/` (a rename, quick under the lock) into staging, to be deleted after. */
  private async moveToTrash(folder: string): Promise<string> {
    const trash = this.stagingFolder('removed');
    await fsp.mkdir(path.dirname(trash), { recursive: true });
    await fsp.rename(folder, trash);
    return trash;
  }

  /** Writes the manifest to a temporary file and renames it over the old one (only under the lock). */
  private async writeManifest(models: ReadonlyMap<string, ModelEntry>): Promise<void> {
    const manifest: ManifestFile = { version: 1, models: [...models.values()].map((e) => ({ ...e, folder: `${MODELS}/${e.id}` })) };
    const tmp = path.join(this.root, `${MANIFEST}.tmp-${randomBytes(4).toString('hex')}`);
    await fsp.writeFile(tmp, JSON.stringify(manifest, null, 2));
    await fsp.rename(tmp, path.join(this.root, MANIFEST));
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

/** The note beside a download's staging folder, or undefined when it is unreadable (then only its files are swept). */
async function readDownloadNote(file: string): Promise<InterruptedDownload | undefined> {
  try {
    const n = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<InterruptedDownload>;
    return typeof n.id === 'string' && typeof n.label === 'string' && typeof n.repo === 'string' ? { id: n.id, label: n.label, repo: n.repo } : undefined;
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(() => true, () => false);
}

/** A HEAD request to the mirror (not following redirects, so the token never leaves it); undefined when it fails. */
function headOnMirror(url: string, auth: HubAuthorization | undefined, signal?: AbortSignal): Promise<Response | undefined> {
  return fetch(url, { method: 'HEAD', redirect: 'manual', signal, headers: headersFor(new URL(url), {}, auth) }).catch(() => undefined);
}

/** A file the loader could not read (fileLimits.ts) is refused on the server's statement, before its body. */
function loaderLimit(file: string): { bytes: number; why: string } {
  return { bytes: fileSizeLimit(file), why: 'it is above the loader\'s limit for that file, so it is not downloaded' };
}
