// Bundles the extension host, the command line and the webviews, and copies the onnxruntime-web
// wasm binaries next to the webview bundles (webviews may load nothing from the network).
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
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
// The two binaries the pages load (webview/engine/ortBinary.ts), gzipped: a quarter of the bytes through
// VS Code's webview resource loader; and their glue scripts as they are (worker threads load them).
for (const name of ['ort-wasm-simd-threaded', 'ort-wasm-simd-threaded.asyncify']) {
  const wasm = join(ortDist, `${name}.wasm`);
  const gz = join(ortOut, `${name}.wasm.gz`);
  if (!existsSync(gz) || statSync(gz).mtimeMs < statSync(wasm).mtimeMs) writeFileSync(gz, gzipSync(readFileSync(wasm)));
  cpSync(join(ortDist, `${name}.mjs`), join(ortOut, `${name}.mjs`));
}
