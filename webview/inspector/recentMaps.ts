/**
 * The T×T maps the panel has at hand (a head's, or a layer's mean of heads), within a byte budget, least
 * recently used dropped first: choosing a head again draws at once, and memory stays bounded however
 * many heads were looked at.
 */
import type { HeadChoice } from './headMaps.js';

const key = ({ layer, head }: HeadChoice) => `${layer}:${head}`;

export class RecentMaps {
  private readonly maps = new Map<string, Float32Array>();
  private bytes = 0;

  constructor(private readonly budgetBytes: number) {}

  get(c: HeadChoice): Float32Array | undefined {
    const m = this.maps.get(key(c));
    if (m) {
      this.maps.delete(key(c));
      this.maps.set(key(c), m);
    }
    return m;
  }

  /** Keeps `m`, dropping the least recently used others while over budget. */
  put(c: HeadChoice, m: Float32Array): void {
    this.drop(key(c));
    this.maps.set(key(c), m);
    this.bytes += m.byteLength;
    for (const [k] of this.maps) {
      if (this.bytes <= this.budgetBytes || k === key(c)) break;
      this.drop(k);
    }
  }

  /** Keeps `m` only if it fits without dropping anything (maps seen in passing, not asked for). */
  offer(c: HeadChoice, m: Float32Array): void {
    if (!this.maps.has(key(c)) && this.bytes + m.byteLength <= this.budgetBytes) this.put(c, m);
  }

  private drop(k: string): void {
    const m = this.maps.get(k);
    if (!m) return;
    this.maps.delete(k);
    this.bytes -= m.byteLength;
  }
}
