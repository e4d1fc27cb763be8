// Runs the test suites with Node's own test runner (TypeScript through tsx):
// `node scripts/test.mjs` runs all of them, `node scripts/test.mjs unit browser` the named ones,
// `node scripts/test.mjs test/unit/foo.test.ts …` those files.
// Afterwards it prints the reliability tally the tests recorded (scripts/reliability.mjs) and fails the
// run if any model was lost or corrupted.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { clearReliabilityLog, readReliability, reliabilityTable } from './reliability.mjs';

const suites = ['unit', 'browser', 'e2e'];
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : suites;
const files = chosen.flatMap((s) =>
  s.endsWith('.test.ts') ? [s] : readdirSync(join('test', s)).filter((f) => f.endsWith('.test.ts')).map((f) => join('test', s, f)),
).filter((f) => statSync(f).isFile());
clearReliabilityLog();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
const rows = readReliability();
let status = r.status ?? 1;
if (rows.length) {
  console.log(`\nReliability, as observed in this run:\n${reliabilityTable(rows)}`);
  const lost = rows.reduce((n, row) => n + row.lost, 0);
  if (lost > 0) {
    console.log(`error: ${lost} model(s) lost or corrupted`);
    status = status || 1;
  }
}
process.exit(status);
