// The memory estimate (kernels/inspect/memoryEstimate.ts) and the panel's budget rules built on it
// (src/memoryBudget.ts): parameter counts of real GPT-2 shapes, the parts it adds up, the longest T that
// fits, and the sentences the host and CLI say. Its calibration against measured peaks is in the README.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QUERY_BLOCK } from '../../kernels/graph/attentionGraph.js';
import { LOGITS_BLOCK } from '../../kernels/graph/decoderGraph.js';
import { estimateInspectionMemory, longestFittingTokens, type MemoryEstimateInput, parameterCount, storedDtypeOfSize } from '../../kernels/inspect/memoryEstimate.js';
import { parseModelConfig } from '../../kernels/model/config.js';
import type { DecoderConfig } from '../../kernels/model/decoder.js';
import { checkPanelBudget, defaultMaxTokens, longestPanelTokens, panelEstimate } from '../../src/memoryBudget.js';
import { LLAMA_SHAPES } from '../support/llamaShapedFolder.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EMBEDDED = join(ROOT, 'media', 'models', 'tinycode-4l8h-1k');
const MIB = 1024 * 1024;

const gpt2 = (nLayer: number, nHead: number, nEmbd: number): DecoderConfig =>
  parseModelConfig(new TextEncoder().encode(JSON.stringify({ model_type: 'gpt2', n_layer: nLayer, n_head: nHead, n_embd: nEmbd, n_positions: 1024, vocab_size: 50257 })));
const SMALL = gpt2(12, 12, 768);
const MEDIUM = gpt2(24, 16, 1024);
const cli: Omit<MemoryEstimateInput, 'tokens'> = { config: SMALL, stored: 'F16', compute: 'fp32', mapsLayers: 1, runtime: 'wasm', keptWeights: 'none', logitsBlock: LOGITS_BLOCK };

test('parameter counts are those of the real checkpoints; the stored dtype follows from the file size', () => {
  assert.equal(parameterCount(SMALL), 124_439_808);
  assert.equal(parameterCount(MEDIUM), 354_823_168);
  assert.equal(storedDtypeOfSize(SMALL, 548_105_171), 'F32');
  assert.equal(storedDtypeOfSize(SMALL, 248_894_664), 'F16');
  // The embedded model: its size on disk over the count from its config.
  const config = parseModelConfig(readFileSync(join(EMBEDDED, 'config.json')));
  const bytes = readFileSync(join(EMBEDDED, 'model.safetensors')).length;
  assert.ok(bytes > 2 * parameterCount(config) && bytes < 2 * parameterCount(config) + 100_000, `${bytes} bytes`);
  assert.equal(storedDtypeOfSize(config, bytes), 'F16');
});

test('the parts: weights as stored and widened, q/k of every layer, one layer of maps, one block of logits', () => {
  const P = parameterCount(SMALL);
  const e = estimateInspectionMemory({ ...cli, tokens: 1024 });
  assert.equal(e.weightsStored, 2 * P);
  assert.equal(e.weightsRuntime, 0.4 * 2 * P + 4 * P, 'the fp32 widening and what folding leaves of the fp16 copy');
  assert.equal(e.logits, 2 * LOGITS_BLOCK * 50257 * 4);
  assert.ok(e.activations >= 4 * 12 * 1024 * 768 * 4, 'q and k of every layer, in the heap and in JS');
  assert.ok(e.maps >= 12 * 1024 * 1024 * 4 && e.maps < 12 * 12 * 1024 * 1024 * 4, 'one layer of maps, not all twelve');
  const fp32 = estimateInspectionMemory({ ...cli, stored: 'F32', tokens: 1024 });
  assert.equal(fp32.weightsRuntime, 4 * P, 'fp32 weights are not widened');
  const whole = estimateInspectionMemory({ ...cli, tokens: 1024, logitsBlock: 1024 });
  assert.ok(whole.total - e.total >= 2 * (1024 - LOGITS_BLOCK) * 50257 * 4 * 0.99, 'the whole logits would cost (T − block) × V × 2 floats more');
  const all = estimateInspectionMemory({ ...cli, tokens: 1024, mapsLayers: 12 });
  assert.equal(all.maps - e.maps, 11 * 12 * 1024 * 1024 * 4);
  let last = 0;
  for (const T of [1, 64, 256, 512, 768, 1024]) {
    const t = estimateInspectionMemory({ ...cli, tokens: T }).total;
    assert.ok(t >= last, `monotone in T (${T})`);
    last = t;
  }
  // Targets: GPT-2 small under 1.5 GB, medium under 3 GB in the CLI.
  assert.ok(e.total < 1.5 * 1024 * MIB, `small: ${e.total / MIB} MiB`);
  assert.ok(estimateInspectionMemory({ ...cli, config: MEDIUM, tokens: 1024 }).total < 3 * 1024 * MIB);
});

test('the longest T that fits a budget: fits, one more does not; 0 when the weights alone are over it', () => {
  const at = (T: number) => estimateInspectionMemory({ ...cli, tokens: T }).total;
  // Below ~600 tokens the peak is the session's creation (weights only), so T is pinned where the forward dominates.
  assert.ok(at(800) < at(801));
  assert.equal(longestFittingTokens(cli, (at(800) + at(801)) / 2), 800);
  for (const budget of [at(1), at(1) * 1.05, at(1024) - 1]) {
    const n = longestFittingTokens(cli, budget);
    assert.ok(at(n) <= budget && at(n + 1) > budget, `budget ${budget}: ${n}`);
  }
  assert.equal(longestFittingTokens(cli, at(1024) * 2), 1024, 'never beyond the context');
  assert.equal(longestFittingTokens(cli, at(1) - 1), 0);
});

test('the panel: default maxTokens is the context where it fits, fewer under a small budget; the notice names both', () => {
  const small = { config: SMALL, stored: 'F32' as const };
  assert.equal(defaultMaxTokens(small, 'auto', 3072), 1024, 'GPT-2 small fp32 at its whole context in the default budget');
  assert.ok(panelEstimate(small, 'auto', 1024).total >= panelEstimate(small, 'wasm', 1024).total, 'auto takes the larger of the two runtimes');
  const budgetMB = Math.ceil(panelEstimate(small, 'wasm', 400).total / MIB);
  const longest = longestPanelTokens(small, 'wasm', budgetMB);
  assert.ok(longest >= 400 && longest < 1024, `${longest}`);
  assert.equal(defaultMaxTokens(small, 'wasm', budgetMB), longest);
  const verdict = checkPanelBudget(small, 'GPT-2 small', 'wasm', 1024, budgetMB);
  assert.equal(verdict.fits, false);
  assert.ok(!verdict.fits && verdict.longest === longest);
  assert.match(!verdict.fits ? verdict.message : '', new RegExp(`^Inspecting 1,024 tokens with GPT-2 small needs about [\\d.]+ [GM]B \\(weights .*\\), more than the memory budget of ${budgetMB.toLocaleString('en-US')} MB \\(attentionInspector.memoryBudgetMB\\)\\. The longest selection that fits is ${longest.toLocaleString('en-US')} tokens\\.$`));
  assert.deepEqual(checkPanelBudget(small, 'GPT-2 small', 'wasm', longest, budgetMB), { fits: true });
  const medium = checkPanelBudget({ config: MEDIUM, stored: 'F32' }, 'GPT-2 medium', 'auto', 1, 3072);
  assert.ok(!medium.fits && medium.longest === 0);
  assert.match(!medium.fits ? medium.message : '', /Not even one token fits: the weights alone are over the budget/);
  assert.equal(defaultMaxTokens({ config: MEDIUM, stored: 'F32' }, 'auto', 3072), 1);
});

test('CLI --memory-budget: over it, exit 2 and one error line with the estimate, the budget and the longest T that fits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ai-budget-'));
  writeFileSync(join(dir, 'in.txt'), 'function add(a, b) { return a + b; }\n'.repeat(40));
  const config = parseModelConfig(readFileSync(join(EMBEDDED, 'config.json')));
  // What the CLI estimates on wasm (every layer written).
  const embedded: Omit<MemoryEstimateInput, 'tokens'> = { ...cli, config, keptLayers: config.nLayer, queryBlock: QUERY_BLOCK, mapsHeads: 1 };
  const budgetMB = Math.floor(estimateInspectionMemory({ ...embedded, tokens: 300 }).total / MIB);
  const longest = longestFittingTokens(embedded, budgetMB * MIB);
  assert.ok(longest > 1 && longest < 400, `${longest}`);
  const run = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'inspect', '--text-file', 'in.txt', '--out', 'out', ...args], { cwd: dir, encoding: 'utf8' });
  const r = run('--max-tokens', '400', '--memory-budget', String(budgetMB));
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`^error: inspecting 400 tokens needs about \\d+ MB \\(weights .*\\), more than --memory-budget ${budgetMB} MB; the longest that fits is ${longest} tokens \\(--max-tokens ${longest}\\)$`));
  assert.equal(run('--max-tokens', String(longest), '--memory-budget', String(budgetMB)).status, 0, 'the advice works');
  assert.match(run('--memory-budget', '1').stderr, /^error: .*not even one token fits/);
  assert.match(run('--memory-budget', 'lots').stderr, /^error: --memory-budget must be a positive integer/);
});

test('the CLI on wasm (only --layers\' q and k kept, attention in blocks of query rows, one head\'s map at a time): within the band of measured peaks of BF16 Llama-family shapes', () => {
  const config = (c: Record<string, unknown>): DecoderConfig => parseModelConfig(new TextEncoder().encode(JSON.stringify(c)));
  const SMOLLM2 = config(LLAMA_SHAPES['smollm2-135m']!);
  const QWEN25 = config(LLAMA_SHAPES['qwen2.5-0.5b']!);
  // Peak RSS of `npm run bench:cli` (README, "Llama-family shapes"), MiB.
  const measured = [
    { config: SMOLLM2, tokens: 2048, keptLayers: 30, peakMiB: 1547 },
    { config: SMOLLM2, tokens: 4096, keptLayers: 1, peakMiB: 1350 },
    { config: QWEN25, tokens: 1024, keptLayers: 24, peakMiB: 3328 },
  ];
  for (const m of measured) {
    const e = estimateInspectionMemory({ ...cli, config: m.config, stored: 'BF16', tokens: m.tokens, keptLayers: m.keptLayers, queryBlock: QUERY_BLOCK, mapsHeads: 1 });
    const ratio = e.total / MIB / m.peakMiB;
    assert.ok(ratio >= 0.97 && ratio <= 1.12, `${m.config.family} T=${m.tokens}: estimate ${Math.round(e.total / MIB)} MiB, measured ${m.peakMiB} MiB`);
  }
  // Whole attention and every layer's q and k would be counted where they are kept.
  const blocked = estimateInspectionMemory({ ...cli, config: SMOLLM2, stored: 'BF16', tokens: 2048, queryBlock: QUERY_BLOCK });
  const whole = estimateInspectionMemory({ ...cli, config: SMOLLM2, stored: 'BF16', tokens: 2048 });
  assert.equal(whole.activations - blocked.activations, 3 * 9 * (2048 - QUERY_BLOCK) * 2048 * 4);
});

test("the panel's estimate on wasm against the renderer's measured peak RSS (bench:inspect, T = 1,024, after another layer's trace)", () => {
  const embedded = parseModelConfig(readFileSync(join(EMBEDDED, 'config.json')));
  const smollm2 = parseModelConfig(new TextEncoder().encode(JSON.stringify(LLAMA_SHAPES['smollm2-135m'])));
  const qwen25 = parseModelConfig(new TextEncoder().encode(JSON.stringify(LLAMA_SHAPES['qwen2.5-0.5b'])));
  const measured: [string, DecoderConfig, 'F32' | 'F16' | 'BF16', number][] = [
    ['the embedded model', embedded, 'F16', 1353],
    ['GPT-2 small fp32', SMALL, 'F32', 2548],
    ['GPT-2 medium fp32', MEDIUM, 'F32', 5173],
    ['SmolLM2-135M BF16', smollm2, 'BF16', 2998],
    ['Qwen2.5-0.5B BF16', qwen25, 'BF16', 4869],
  ];
  for (const [name, config, stored, peakMiB] of measured) {
    const e = panelEstimate({ config, stored }, 'wasm', 1024).total / MIB;
    const error = e / peakMiB - 1;
    assert.ok(error >= -0.05 && error <= 0.1, `${name}: estimate ${Math.round(e)} MiB, measured ${peakMiB} MiB (${(100 * error).toFixed(1)} %)`);
  }
});
