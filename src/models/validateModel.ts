/** The store's gate: a folder is registered only if the core's loader reads it as a complete model of a supported family. */
import { familyOf } from '../../kernels/model/families/index.js';
import { loadModelFolderFromDisk } from '../../node/folderReader.js';

/** The folder's weights dtype is that of its token embedding (every family has one). */
export async function validateModelFolder(dir: string): Promise<{ dtype: string }> {
  const model = await loadModelFolderFromDisk(dir);
  return { dtype: model.weights.get(familyOf(model.config.family).tensors(model.config).embed)?.dtype ?? 'unknown' };
}
