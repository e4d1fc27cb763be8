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

export function exportButtons(source: ExportSource): HTMLElement {
  const fileBase = () => {
    const { layer, head } = source.chosen();
    return `attention-L${layer}${head < 0 ? 'avg' : `H${head}`}`;
  };
  const report = async (p: Promise<SaveOutcome>) => source.setStatus(savedText(await p));
  const png = async () => {
    const blob = await new Promise<Blob | null>((r) => source.canvas().toBlob(r, 'image/png'));
    if (blob) await report(source.save(`${fileBase()}.png`, 'image/png', new Uint8Array(await blob.arrayBuffer())));
  };
  const npy = async () => {
    const c = source.shown();
    if (!c) return;
    async function* parts(): AsyncIterable<Uint8Array> {
      yield float32NpyHeader([c!.L, c!.H, c!.T, c!.T]);
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
      for (let l = 0; l < c!.L; l++) {
        source.setStatus(`Exporting attention.npy: layer ${l + 1}/${c!.L}…`);
        for (let h = 0; h < c!.H; h++) {
          const m = await c!.headMap(l, h);
          pending.push(m);
          size += m.byteLength;
          if (size >= NPY_PART_BYTES) yield flush();
        }
      }
      if (size > 0) yield flush();
    }
    await report(source.saveInParts('attention.npy', 'application/octet-stream', parts));
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
