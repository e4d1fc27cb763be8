/** Random texts for tokenizer tests: fragments and whitespace runs drawn from two pools. */
export function randomText(next: () => number, fragments: number, pools: { words: readonly string[]; spaces: readonly string[] }): string {
  let s = '';
  for (let i = 0; i < fragments; i++) {
    const pool = next() < 0.3 ? pools.spaces : pools.words;
    s += pool[Math.floor(next() * pool.length)];
  }
  return s;
}
