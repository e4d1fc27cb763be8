/**
 * A model folder read through the extension host (the `messages` way; src/modelFileRanges.ts answers):
 * each range one `modelFile` request, its bytes carried by VS Code's webview messages as binary.
 */
import { rangedFolderReader, type RangedReaderOptions } from '../../kernels/model/rangedReader.js';
import type { ModelFileReader } from '../../kernels/model/types.js';
import { requestModelFile } from './host.js';

export function hostFolderReader(modelId: string, options: RangedReaderOptions = {}): ModelFileReader {
  return rangedFolderReader(async (name, start, length) => {
    const r = await requestModelFile({ modelId, name, start, length }, options.signal);
    if (r.total < 0) return undefined;
    return { total: r.total, start, pieces: [r.bytes], cancel: () => undefined };
  }, options);
}
