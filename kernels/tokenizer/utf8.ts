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
