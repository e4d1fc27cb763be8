/** The store's gate: a folder is registered only if the core's loader reads it as a complete GPT-2 model. */
import { loadModelFolderFromDisk } from '../../node/folderReader.js';

export async function validateModelFolder(dir: string): Promise<{ dtype: string }> {
  const model = await loadModelFolderFromDisk(dir);
  return { dtype: model.weights.get('wte.weight')?.dtype ?? 'unknown' };
}
