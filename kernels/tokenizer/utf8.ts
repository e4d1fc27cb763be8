/**
 * Where each UTF-8 byte of a string lies in its UTF-16 code units: for byte b, the code units of the
 * whole character that byte belongs to are [charStart[b], charEnd[b]). Lone surrogates count as
 * U+FFFD (3 bytes), as TextEncoder encodes them.
 */
export interface Utf8Layout {
  bytes: Uint8Array;
  charStart: Uint32Array;
  charEnd: Uint32Array;
}

export function utf8Layout(text: string): Utf8Layout {
  const bytes = new TextEncoder().encode(text);
  const charStart = new Uint32Array(bytes.length);
  const charEnd = new Uint32Array(bytes.length);
  let b = 0;
  for (let u = 0; u < text.length; ) {
    const cp = text.codePointAt(u)!;
    const units = cp > 0xffff ? 2 : 1;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    charStart.fill(u, b, b + n);
    charEnd.fill(u + units, b, b + n);
    b += n;
    u += units;
  }
  return { bytes, charStart, charEnd };
}

/**
 * Renders bytes for display: valid UTF-8 sequences as text, every byte of an invalid or cut
 * sequence as `<0xNN>`.
 */
export function bytesToDisplayText(bytes: Uint8Array): string {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i];
    const n = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3 : lead >= 0xf0 && lead < 0xf5 ? 4 : 0;
    if (n > 0 && i + n <= bytes.length) {
      try {
        out += decoder.decode(bytes.subarray(i, i + n));
        i += n;
        continue;
      } catch {
        // not a valid sequence: fall through to the byte form
      }
    }
    out += `<0x${lead.toString(16).toUpperCase().padStart(2, '0')}>`;
    i++;
  }
  return out;
}

const CONTROL_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A token's bytes as one printable line, for lists of predictions: `\n`, `\r`, `\t` and other control
 * characters escaped, bytes of a cut multi-byte character as `<0xNN>`.
 */
export function printableTokenText(bytes: Uint8Array): string {
  return bytesToDisplayText(bytes).replace(/[\u0000-\u001f\u007f]/g, (c) => CONTROL_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const BASE_WITH_MARKS = /\P{M}\p{M}*|\p{M}+/gsu;

/**
 * The layout of `text` after NFC normalization (what an NFC normalizer hands the model): for each byte of
 * the normalized text, the UTF-16 range of the input it came from. A character left alone by NFC keeps its
 * own range; a run that NFC changes (a base and its combining marks, or neighbours that compose) covers the
 * whole run of the input, so a token never claims half of what the user typed as one thing.
 */
export function nfcLayout(text: string): Utf8Layout {
  if (text.normalize('NFC') === text) return utf8Layout(text);
  const runs: { start: number; end: number }[] = [];
  for (const m of text.matchAll(BASE_WITH_MARKS)) {
    const start = m.index;
    const end = start + m[0].length;
    const last = runs.at(-1);
    // Join the previous run when NFC composes across the two (e.g. Hangul jamo, which are not marks).
    if (last && (text.slice(last.start, end).normalize('NFC') !== text.slice(last.start, last.end).normalize('NFC') + m[0].normalize('NFC'))) last.end = end;
    else runs.push({ start, end });
  }
  // Stretches NFC leaves alone are laid out whole; each changed run covers its input range.
  const parts: Utf8Layout[] = [];
  let plainFrom = 0;
  const plain = (end: number) => {
    if (end <= plainFrom) return;
    const layout = utf8Layout(text.slice(plainFrom, end));
    for (let i = 0; i < layout.bytes.length; i++) { layout.charStart[i] += plainFrom; layout.charEnd[i] += plainFrom; }
    parts.push(layout);
  };
  for (const r of runs) {
    const run = text.slice(r.start, r.end);
    const nfc = run.normalize('NFC');
    if (nfc === run) continue;
    plain(r.start);
    const layout = utf8Layout(nfc);
    layout.charStart.fill(r.start);
    layout.charEnd.fill(r.end);
    parts.push(layout);
    plainFrom = r.end;
  }
  plain(text.length);
  const offsets = parts.map((p) => p.bytes.length);
  const n = offsets.reduce((a, b) => a + b, 0);
  const out: Utf8Layout = { bytes: new Uint8Array(n), charStart: new Uint32Array(n), charEnd: new Uint32Array(n) };
  let at = 0;
  for (const p of parts) {
    out.bytes.set(p.bytes, at);
    out.charStart.set(p.charStart, at);
    out.charEnd.set(p.charEnd, at);
    at += p.bytes.length;
  }
  return out;
}
