/**
 * GPT-2's reversible byte ↔ character map: byte-level BPE vocabularies spell each byte as one
 * printable character (printable Latin-1 bytes as themselves, the rest shifted to U+0100…).
 */
function buildByteToChar(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Array<string>(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = String.fromCharCode(printable.includes(b) ? b : 256 + shifted++);
  }
  return map;
}

/** `BYTE_TO_CHAR[b]` is the vocabulary character of byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** The inverse of BYTE_TO_CHAR, keyed by UTF-16 code unit. */
export const CHAR_TO_BYTE: ReadonlyMap<number, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c.charCodeAt(0), b]));

/** The bytes a vocabulary string spells through GPT-2's byte map (characters outside it as their UTF-8). */
export function tokenStringBytes(token: string): Uint8Array {
  const out: number[] = [];
  for (const ch of token) {
    const b = ch.length === 1 ? CHAR_TO_BYTE.get(ch.charCodeAt(0)) : undefined;
    if (b !== undefined) out.push(b);
    else out.push(...new TextEncoder().encode(ch));
  }
  return Uint8Array.from(out);
}
