/**
 * `npm run bench:tokenizer`: how long the embedded model's tokenizer takes for 1024 tokens of
 * TypeScript (the start of kernels/tokenizer/byteLevelBpe.ts), with token offsets. Warm = the same text
 * again on one tokenizer (the BPE cache holds every word); unseen = the first encode on a freshly built
 * tokenizer (nothing cached). A benchmark, not a test: it prints figures and asserts nothing.
 * Options: --runs N (default 21).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ByteLevelBpeTokenizer } from '../kernels/tokenizer/byteLevelBpe.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = join(ROOT, 'media', 'models', 'tinycode-4l8h-1k');
const TOKENS = 1024;

const { values } = parseArgs({ options: { runs: { type: 'string', default: '21' } } });
const runs = Number(values.runs);
const vocab = readFileSync(join(MODEL, 'vocab.json'), 'utf8');
const merges = readFileSync(join(MODEL, 'merges.txt'), 'utf8');
const build = () => ByteLevelBpeTokenizer.fromVocabAndMerges(vocab, merges);

const code = readFileSync(join(ROOT, 'kernels', 'tokenizer', 'byteLevelBpe.ts'), 'utf8');
const warm = build();
const text = code.slice(0, warm.encode(code)[TOKENS - 1].end);

function timed(encode: () => void): number {
  const t0 = performance.now();
  encode();
  return performance.now() - t0;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const warmTimes = sorted(Array.from({ length: runs }, () => timed(() => warm.encode(text))));
const unseenTimes = sorted(Array.from({ length: runs }, () => {
  const fresh = build();
  return timed(() => fresh.encode(text));
}));
const line = (what: string, t: number[]) => `${what}: median ${t[t.length >> 1].toFixed(2)} ms, best ${t[0].toFixed(2)} ms, worst ${t[t.length - 1].toFixed(2)} ms`;
console.log(`tokenizer: ${TOKENS} tokens of TypeScript (${text.length} chars), ${runs} runs each, Node ${process.version}`);
console.log(line('warm (BPE cache holds the text)', warmTimes));
console.log(line('unseen (fresh tokenizer)', unseenTimes));
