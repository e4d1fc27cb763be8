/**
 * A model folder read over HTTP (a webview URI, or a local test server): 404 means the file is absent,
 * any other failure is an error rather than a silently missing file.
 */
import type { ModelFileReader } from './types.js';

export function fetchFolderReader(baseUri: string): ModelFileReader {
  return async (name) => {
    const r = await fetch(baseUri + name);
    if (r.status === 404) return undefined;
    if (!r.ok) throw new Error(`could not read ${name} from the model folder (HTTP ${r.status})`);
    return new Uint8Array(await r.arrayBuffer());
  };
}
