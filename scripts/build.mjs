// Bundles the extension host, the command line and the webviews, and copies the onnxruntime-web
// wasm binaries next to the webview bundles (webviews may load nothing from the network).
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
// `--outdir DIR` builds elsewhere than dist/ (packaging builds into a staging folder of its own).
const outArg = process.argv.indexOf('--outdir');
const out = resolve(root, outArg > 0 ? process.argv[outArg + 1] : 'dist');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', absWorkingDir: root };

const targets = [
  { entryPoints: { extension: 'src/extension.ts' }, outdir: out, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] },
  { entryPoints: { cli: 'cli/main.ts' }, outdir: out, platform: 'node', format: 'cjs', target: 'node20', banner: { js: '#!/usr/bin/env node' }, external: ['playwright-core'] },
  { entryPoints: { inspector: 'webview/inspector/main.ts', benchmark: 'webview/benchmark/main.ts', headless: 'webview/headless/main.ts' }, outdir: join(out, 'webview'), platform: 'browser', format: 'esm', target: 'es2022' },
];

await Promise.all(targets.map((t) => esbuild.build({ ...common, ...t })));

const ortDist = join(root, 'node_modules/onnxruntime-web/dist');
const ortOut = join(out, 'ort');
mkdirSync(ortOut, { recursive: true });
for (const f of readdirSync(ortDist).filter((f) => f.endsWith('.wasm') || /^ort-wasm.*\.mjs$/.test(f))) {
  cpSync(join(ortDist, f), join(ortOut, f));
}
