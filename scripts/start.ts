/**
 * `npm start`: builds and packages the extension, starts a real VS Code (code-server) on 127.0.0.1
 * with it installed and samples/ open, prints the URL, and runs until Ctrl+C, then stops everything.
 *
 * Options: `--port N` (default 8080, or a free port when 8080 is taken), `--workspace DIR` (default samples/).
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ensureCodeServer, packageVsix, REPO_ROOT, startVsCodeServer } from './vscodeServer.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(false));
    s.listen(port, '127.0.0.1', () => s.close(() => ok(true)));
  });
}

async function main(): Promise<void> {
  const say = (line: string) => console.log(`[start] ${line}`);
  const workspace = option('--workspace') ?? join(REPO_ROOT, 'samples');
  const wanted = Number(option('--port') ?? 8080);
  const port = (await portFree(wanted)) ? wanted : undefined;
  ensureCodeServer(say);
  const vsix = packageVsix(say);
  say(`starting code-server${port ? ` on port ${port}` : ` (port ${wanted} is taken, picking a free one)`}`);
  const server = await startVsCodeServer({ workspace, vsix, port });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping code-server');
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(`\nAttention Inspector is running in VS Code at:\n\n  ${server.workbenchUrl()}\n`);
  console.log('Open a file, select some text and run "Inspect Attention" (Ctrl+Alt+I, or the command palette).');
  console.log(`Logs: ${server.logsDir}\nPress Ctrl+C to stop.`);
}

main().catch((e: unknown) => {
  console.error(`[start] ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
