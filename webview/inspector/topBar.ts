/** The panel's header: title, what was inspected (file and lines), badges of where it ran, and a status line. */
import type { AttentionKind } from '../../kernels/graph/attentionGraph.js';
import type { MapsDeriverKind } from '../../kernels/runtime/decoderInspector.js';
import type { SourceRef } from '../../protocol/inspector.js';
import { badge } from '../components/controls.js';
import { el } from './dom.js';

/** Where an inspection ran and what it inspected, as the badges say it. */
export interface RunBadges {
  provider: 'webgpu' | 'wasm';
  adapter: string;
  /** Which attention implementation the runner used. */
  attention: AttentionKind;
  /** What derived the maps shown. */
  maps: MapsDeriverKind;
  fallbackReason?: string;
  modelLabel: string;
  T: number;
  source: SourceRef;
}

export class TopBar {
  private readonly status = el('span', { class: 'status', role: 'status' });
  private readonly badges = el('span', { class: 'badges' });
  private readonly subtitle = el('span', { class: 'subtitle' });
  readonly element = el('header', { class: 'topbar' }, el('h1', {}, 'Attention Inspector'), this.subtitle, this.badges, this.status);

  constructor() {
    this.status.setAttribute('aria-live', 'polite');
  }

  setStatus(text: string): void {
    this.status.textContent = text;
  }

  showRun(r: RunBadges): void {
    const name = r.provider === 'webgpu' ? 'WebGPU' : 'wasm';
    const b = badge(`${name} · ${r.adapter}`, `onnxruntime-web ${r.provider === 'webgpu' ? 'native WebGPU provider' : 'WebAssembly (CPU)'}; attention ${r.attention}; maps derived by ${r.maps === 'kernel' ? 'our WGSL kernel' : 'onnxruntime'}`);
    b.classList.add('provider', r.provider);
    b.setAttribute('role', 'note');
    b.setAttribute('aria-label', `Ran on ${name}, adapter ${r.adapter}`);
    const extra = r.fallbackReason ? [badge('fallback', `WebGPU not used: ${r.fallbackReason}`)] : [];
    this.badges.replaceChildren(b, ...extra, badge(r.modelLabel, 'Model'), badge(`T = ${r.T}`, 'Tokens inspected'));
    this.subtitle.textContent = `${r.source.fileName} · lines ${r.source.startLine + 1}–${r.source.endLine + 1}`;
  }
}
