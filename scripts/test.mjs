// Runs the test suites with Node's own test runner (TypeScript through tsx):
// `node scripts/test.mjs` runs all of them, `node scripts/test.mjs unit browser` the named ones.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const suites = ['unit', 'browser', 'e2e'];
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : suites;
const files = chosen.flatMap((s) =>
  readdirSync(join('test', s)).filter((f) => f.endsWith('.test.ts')).map((f) => join('test', s, f)),
).filter((f) => statSync(f).isFile());
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
