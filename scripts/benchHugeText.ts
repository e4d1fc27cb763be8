/**
 * `npm run bench:huge`: the built CLI (`npm run build` first) on huge one-line texts — a 24 MB and a 6 MB
 * minified-JS-like line — with `inspect --truncate`, under `/usr/bin/time -v` for wall time and peak RSS.
 * Only the first 1,024 tokens are inspected, and only as much text is tokenized (tokenizePrefix), so both
 * should cost about the same as a small file: mostly start-up. A benchmark, not a test: it prints figures
 * (with the load average, as the machine may be shared) and writes test-results/bench-huge.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { minifiedLine } from './hugeText.js';
import { REPO_ROOT } from './vscodeServer.js';

interface Run {
  file: string;
  megabytes: number;
  wallSeconds: number;
  peakRssMegabytes: number;
  note: string;
}

function inspect(dir: string, name: string, chars: number): Run {
  const file = join(dir, name);
  writeFileSync(file, minifiedLine(chars));
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, join(REPO_ROOT, 'dist', 'cli.js'), 'inspect', '--text-file', file, '--truncate', '--out', join(dir, `${name}.out`)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${name}: exit ${r.status}\n${r.stderr}`);
  const field = (label: string) => r.stderr.match(new RegExp(`${label}: (.+)`))?.[1]?.trim() ?? '';
  const [m, s] = field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)').split(':').slice(-2).map(Number);
  return {
    file: name,
    megabytes: chars / 1e6,
    wallSeconds: m! * 60 + s!,
    peakRssMegabytes: Number(field('Maximum resident set size \\(kbytes\\)')) / 1024,
    note: r.stderr.match(/note: (.*)/)?.[1] ?? '',
  };
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'bench-huge-'));
  try {
    const before = loadavg();
    const runs = [inspect(dir, 'huge-24MB.js', 24_000_000), inspect(dir, 'huge-6MB.js', 6_000_000)];
    const report = { date: new Date().toISOString(), loadAverageBefore: before, loadAverageAfter: loadavg(), runs };
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'test-results', 'bench-huge.json'), JSON.stringify(report, null, 1) + '\n');
    for (const r of runs) console.log(`${r.file} (${r.megabytes} MB, one line): ${r.wallSeconds.toFixed(2)} s wall, ${r.peakRssMegabytes.toFixed(0)} MB peak RSS — ${r.note}`);
    console.log(`load average ${before.map((x) => x.toFixed(2)).join(' ')} before, ${report.loadAverageAfter.map((x) => x.toFixed(2)).join(' ')} after`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
