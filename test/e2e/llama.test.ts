// A Llama-family model in the panel, in a real VS Code: a tiny random Llama-style model with grouped-query
// attention (4 query heads over 2 K/V heads, RoPE, RMSNorm, SwiGLU, BF16) and the real Llama 2
// tokenizer.json, downloaded from the hub stand-in through Download Model… → Other repository…, set
// active, Inspect: the head grid is grouped by K/V head, the trace shows RoPE and K/V repeated, the
// parameter card what GQA saves, the exported .npy equals the CLI's attention.npy for the same text, and
// two query heads of one K/V group mean-ablated give the CLI's `--ablate` mean loss.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { maxAbsDiff } from '../../kernels/flash/reference.js';
import { REPO_ROOT } from '../../scripts/vscodeServer.js';
import { startHubServer, type HubServer } from '../fixtures/hubServer.js';
import { llamaShapedFolder } from '../support/llamaShapedFolder.js';
import { llamaTokenizerDir } from '../support/llamaTokenizers.js';
import { readFloat32Npy } from '../support/npy.js';
import { e2eTest, exportNpy, RESULTS, Workbench } from './harness.js';
import { downloadModel, setActiveModel } from './modelsView.js';

const REPO = 'fixture/tiny-llama-gqa';
const H = 4;
const KV = 2;
const CONFIG = {
  model_type: 'llama', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: H, num_key_value_heads: KV,
  vocab_size: 32000, max_position_embeddings: 256, rms_norm_eps: 1e-5, hidden_act: 'silu', rope_theta: 10000, tie_word_embeddings: true,
  bos_token_id: 1, eos_token_id: 2,
};
const DIR = join(RESULTS, 'llama-gqa');
const MODEL_DIR = join(DIR, 'model');

let wb: Workbench | undefined;
let hub: HubServer | undefined;

before(async () => {
  const files = llamaShapedFolder(CONFIG, { dtype: 'BF16', seed: 13, qkStd: 0.3 });
  files.delete('vocab.json');
  files.delete('merges.txt');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) files.set(f, readFileSync(join(llamaTokenizerDir('llama2'), f)));
  mkdirSync(MODEL_DIR, { recursive: true });
  for (const [f, bytes] of files) writeFileSync(join(MODEL_DIR, f), bytes);
  hub = await startHubServer({ [REPO]: { files } });
  wb = await Workbench.start('llama', { settings: { 'attentionInspector.modelMirror': hub.baseUrl } });
});
after(async () => {
  await wb?.close();
  await hub?.close();
});

e2eTest('a Llama-style GQA model: grid grouped by K/V head, trace and parameter card of GQA, export equals the CLI', () => wb, async (t) => {
  await downloadModel(wb!, REPO, 180_000);
  await setActiveModel(wb!, REPO);

  await wb!.quickOpen('repeated.md');
  const passage = wb!.fileText().split('\n').slice(6, 11).join('\n');
  await wb!.selectLines(7, 11);
  await wb!.runCommand('Inspect Attention');
  const panel = await wb!.webview('Attention Inspector');
  await panel.locator('body[data-inspected="1"]').waitFor({ timeout: 240_000 });
  await panel.locator('.head-grid canvas.thumb').first().waitFor();
  assert.equal(await panel.locator('.head-grid canvas.thumb').count(), 2 * (H + 1));

  // One bracket per K/V head over the query heads that read it; each cell described by its bracket.
  const groups = panel.locator('.head-grid .kv-group');
  assert.deepEqual(await groups.allInnerTexts(), ['KV 0: H0–H1', 'KV 1: H2–H3']);
  for (let h = 0; h < H; h++) {
    const cell = panel.locator(`.head-grid .cell[data-layer="1"][data-head="${h}"]`);
    assert.equal(await cell.getAttribute('aria-describedby'), `kv-group-${Math.floor(h / (H / KV))}`);
    assert.match((await cell.getAttribute('title')) ?? '', new RegExp(`Reads key/value head ${Math.floor(h / (H / KV))}, shared by`));
  }
  assert.equal(await panel.locator('.head-grid .cell[data-head="-1"][aria-describedby]').count(), 0, 'the average column belongs to no group');

  // The trace of the chosen layer: RMSNorm, Q with H heads and K/V with KV, RoPE and its frequencies, K/V repeated.
  const trace = panel.locator('.trace-table');
  await trace.waitFor({ timeout: 120_000 });
  const steps = await trace.locator('tbody th').allInnerTexts();
  for (const step of ['RMSNorm', 'Q K V', 'view', 'RoPE', 'RoPE θ', 'repeat K V', '÷√dh', 'causal mask', 'softmax', '· V', 'W_O']) assert.ok(steps.includes(step), `trace has no ${step} row: ${steps.join(', ')}`);
  const traceText = await trace.innerText();
  assert.match(traceText, /K V \(B=1, T=\d+, KV=2, dh=16\)/);
  assert.match(traceText, /configured \(rope_theta 10,000\): .* measured within/);
  const card = await panel.locator('.equivalence').innerText();
  t.diagnostic(card);
  assert.match(card, /the 4 query heads read 2 key\/value heads, 2 each/);
  // Per layer K and V save 2·(64·64 − 64·32) = 4,096 weights; 8,192 over the 2 layers.
  assert.match(card, /4,096 fewer per layer, 8,192 over the 2 layers/);

  await panel.locator('#grid .head-grid').scrollIntoViewIfNeeded();
  const shot = await wb!.screenshot('llama-gqa-grid');
  t.diagnostic(`screenshot: ${shot}`);

  const npy = await exportNpy(wb!, panel);
  const textFile = join(DIR, 'selection.txt');
  writeFileSync(textFile, passage);
  const cli = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'cli.js'), 'inspect', '--model', MODEL_DIR, '--text-file', textFile, '--out', join(DIR, 'cli')], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const fromPanel = readFloat32Npy(npy);
  const fromCli = readFloat32Npy(join(DIR, 'cli', 'attention.npy'));
  assert.deepEqual(fromPanel.shape, fromCli.shape);
  assert.deepEqual(fromPanel.shape.slice(0, 2), [2, H]);
  assert.ok(fromPanel.shape[2]! > 40, `only ${fromPanel.shape[2]} tokens inspected`);
  const diff = maxAbsDiff(fromPanel.data, fromCli.data);
  t.diagnostic(`panel vs CLI attention (${fromPanel.shape.join('×')}): max |diff| ${diff.toExponential(2)}`);
  assert.ok(diff <= 5e-5, `panel and CLI attention differ by up to ${diff}`);

  // Two query heads of one K/V group mean-ablated in the panel: the mean loss before → after is the CLI's.
  const cliMean = (name: string, ...args: string[]) => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'cli.js'), 'inspect', '--model', MODEL_DIR, '--text-file', textFile, '--out', join(DIR, name), ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const losses = (JSON.parse(readFileSync(join(DIR, name, 'tokens.json'), 'utf8')) as { tokens: { loss: number | null }[] }).tokens.flatMap((x) => (x.loss === null ? [] : [x.loss]));
    return losses.reduce((a, b) => a + b, 0) / losses.length;
  };
  const [clean, ablated] = [cliMean('cli'), cliMean('cli-ablated', '--ablate', '1.2,1.3', '--ablation', 'mean')];
  await panel.locator('.head-grid .cell[data-layer="1"][data-head="2"]').click({ modifiers: ['Alt'] });
  await panel.locator('.head-grid .cell[data-layer="1"][data-head="3"]').click({ modifiers: ['Alt'] });
  await panel.locator('.ablate vscode-dropdown').click();
  await panel.locator('.ablate vscode-option', { hasText: 'mean' }).click();
  await panel.locator('.ablate vscode-button', { hasText: 'Run ablated' }).click();
  await panel.locator('body[data-ablated]').waitFor({ timeout: 240_000 });
  const summary = await panel.locator('.ablate-summary').innerText();
  t.diagnostic(`panel: ${summary.split('.')[0]}; CLI: mean loss ${clean.toFixed(3)} → ${ablated.toFixed(3)}`);
  assert.ok(summary.includes(`L1H2, L1H3 mean-ablated: mean loss ${clean.toFixed(3)} → ${ablated.toFixed(3)} nats`), summary);
  await wb!.screenshot('llama-gqa-ablated');
}, 600_000);
