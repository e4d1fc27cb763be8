/**
 * The export buttons: the chosen heatmap as PNG, every attention map as one (L, H, T, T) .npy, and the
 * tokens with the chosen map as JSON. Saving goes through the host (a save dialog); the .npy is derived
 * a head at a time and sent in parts as it is made, so the panel never holds more than a part of it.
 */
import { float32NpyHeader } from '../../kernels/inspect/npy.js';
import type { TokenInfo } from '../../protocol/inspector.js';
import type { SaveOutcome } from '../../protocol/shared.js';
import { button } from '../components/controls.js';
import { el } from './dom.js';
import type { HeadChoice } from './headMaps.js';

/** The attention the panel shows, as the exports write it. */
export interface ShownAttention {
  modelLabel: string;
  provider: string;
  adapter: string;
  /** The inspected tokens (T of them). */
  tokens: readonly TokenInfo[];
  /** Head `head`'s T×T map of layer `layer` (the same numbers the panel draws), derived now. */
  headMap(layer: number, head: number): Promise<Float32Array>;
  /** The chosen map (one head, or the mean of heads). */
  chosenMap(): Promise<Float32Array>;
  L: number;
  H: number;
  T: number;
}

export interface ExportSource {
  /** The chosen heatmap's image canvas. */
  canvas(): HTMLCanvasElement;
  chosen(): HeadChoice;
  /** Undefined before the first inspection. */
  shown(): ShownAttention | undefined;
  save(fileName: string, mime: string, bytes: Uint8Array): Promise<SaveOutcome>;
  saveInParts(fileName: string, mime: string, parts: () => AsyncIterable<Uint8Array>): Promise<SaveOutcome>;
  /** Where the file went, or why not (empty when the dialog was cancelled). */
  setStatus(text: string): void;
}

/** What the status line says of a save: where the file went, why not, or nothing when the dialog was cancelled. */
export function savedText(r: SaveOutcome): string {
  return r.path ? `Saved ${r.path}` : r.error === 'cancelled' ? '' : `Export failed: ${r.error}`;
}

/** Parts of the .npy sent to the host: a few MB, so that no message is large. */
const NPY_PART_BYTES = 4 << 20;

/** Says where a saved file went, or why it was not saved (nothing when the dialog was cancelled). */
export async function reportSave(p: Promise<SaveOutcome>, setStatus: (text: string) => void): Promise<void> {
  setStatus(savedText(await p));
}

/** A canvas's pixels as PNG bytes. */
export async function canvasPng(canvas: HTMLCanvasElement): Promise<Uint8Array | undefined> {
  const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/png'));
  return blob ? new Uint8Array(await blob.arrayBuffer()) : undefined;
}

/** The maps of every head as one float32 (L, H, T, T) .npy, derived a head at a time and yielded in parts of a few MB. */
export function headMapsNpy(c: Pick<ShownAttention, 'L' | 'H' | 'T' | 'headMap'>, fileName: string, setStatus: (text: string) => void): () => AsyncIterable<Uint8Array> {
  return async function* parts(): AsyncIterable<Uint8Array> {
    yield float32NpyHeader([c.L, c.H, c.T, c.T]);
    let pending: Float32Array[] = [];
    let size = 0;
    const flush = () => {
      const part = new Uint8Array(size);
      let at = 0;
      for (const m of pending) {
        part.set(new Uint8Array(m.buffer, m.byteOffset, m.byteLength), at);
        at += m.byteLength;
      }
      pending = [];
      size = 0;
      return part;
    };
    for (let l = 0; l < c.L; l++) {
      setStatus(`Exporting ${fileName}: layer ${l + 1}/${c.L}…`);
      for (let h = 0; h < c.H; h++) {
        const m = await c.headMap(l, h);
        pending.push(m);
        size += m.byteLength;
        if (size >= NPY_PART_BYTES) yield flush();
      }
    }
    if (size > 0) yield flush();
  };
}

export function exportButtons(source: ExportSource): HTMLElement {
  const fileBase = () => {
    const { layer, head } = source.chosen();
    return `attention-L${layer}${head < 0 ? 'avg' : `H${head}`}`;
  };
  const report = (p: Promise<SaveOutcome>) => reportSave(p, source.setStatus);
  const png = async () => {
    const bytes = await canvasPng(source.canvas());
    if (bytes) await report(source.save(`${fileBase()}.png`, 'image/png', bytes));
  };
  const npy = async () => {
    const c = source.shown();
    if (!c) return;
    await report(source.saveInParts('attention.npy', 'application/octet-stream', headMapsNpy(c, 'attention.npy', source.setStatus)));
  };
  const json = async () => {
    const c = source.shown();
    if (!c) return;
    const { layer, head } = source.chosen();
    const m = await c.chosenMap();
    const content = {
      model: c.modelLabel,
      provider: c.provider,
      adapter: c.adapter,
      layer,
      head: head < 0 ? 'average' : head,
      tokens: c.tokens.map(({ id, text, start, end }) => ({ id, text, start, end })),
      attention: Array.from({ length: c.T }, (_, i) => Array.from(m.subarray(i * c.T, (i + 1) * c.T))),
    };
    await report(source.save(`${fileBase()}.json`, 'application/json', new TextEncoder().encode(JSON.stringify(content))));
  };
  return el(
    'div',
    { class: 'exports' },
    button({ label: 'PNG', title: 'Export the current heatmap as PNG', secondary: true, onClick: () => void png() }),
    button({ label: '.npy', title: 'Export all attention maps (L, H, T, T) as NumPy .npy', secondary: true, onClick: () => void npy() }),
    button({ label: 'JSON', title: 'Export the tokens and the current map as JSON', secondary: true, onClick: () => void json() }),
  );
}
