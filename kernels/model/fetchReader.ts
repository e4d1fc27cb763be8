/**
 * A model folder read over HTTP (a webview URI, or a local test server): 404 means the file is absent,
 * any other failure is an error rather than a silently missing file. A stated Content-Length above the
 * file's size limit is refused before the body is read.
 */
import { checkFileSize } from './errors.js';
import { fileSizeLimit } from './fileLimits.js';
import type { ModelFileReader } from './types.js';

export function fetchFolderReader(baseUri: string): ModelFileReader {
  return async (name) => {
    const r = await fetch(baseUri + name);
    if (r.status === 404) return undefined;
    if (!r.ok) throw new Error(`could not read ${name} from the model folder (HTTP ${r.status})`);
    const stated = Number(r.headers.get('content-length') ?? 0);
    if (stated > fileSizeLimit(name)) void r.body?.cancel();
    checkFileSize(name, stated);
    return new Uint8Array(await r.arrayBuffer());
  };
}
