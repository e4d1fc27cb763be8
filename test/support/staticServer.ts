/**
 * A static server for browser tests: the repository root (dist/, media/, test/fixtures/, node_modules/…)
 * on 127.0.0.1 at a free port, with correct MIME types (`application/wasm` for ORT's binaries), no
 * caching, and HTML pages given as strings or functions of the origin (`pages`). Paths outside the root
 * are refused. `crossOriginIsolated: true` adds COOP/COEP so ORT can use threads (VS Code's webviews are
 * not cross-origin isolated, so the default is off, like the real panel).
 * The CLI's `servePage` (cli/chromium.ts) serves one page at `/` and flat folders, which is all the
 * product needs; the tests need pages at any path, sub-folders and cross-origin isolation.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { REPO_ROOT } from './paths.js';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.npy': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

export type Page_ = string | ((origin: string) => string);

export interface StaticServerOptions {
  /** Folder served (default: the repository root). */
  root?: string;
  /** HTML pages by URL path, e.g. `{ '/': (origin) => html }`; they win over files. */
  pages?: Record<string, Page_>;
  /** Adds COOP/COEP headers (SharedArrayBuffer, ORT threads). Default false, like VS Code's webviews. */
  crossOriginIsolated?: boolean;
}

export interface StaticServer {
  origin: string;
  /** Absolute URL of a path on this server. */
  url(path: string): string;
  /** Paths requested that were not found (handy in assertion messages). */
  missing: string[];
  close(): Promise<void>;
}

export async function startStaticServer(options: StaticServerOptions = {}): Promise<StaticServer> {
  const root = resolve(options.root ?? REPO_ROOT);
  const pages = options.pages ?? {};
  const missing: string[] = [];
  const server = createServer((req, res) => {
    const origin = `http://${req.headers.host}`;
    const pathname = decodeURIComponent(new URL(req.url ?? '/', origin).pathname);
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (options.crossOriginIsolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
      headers['cross-origin-resource-policy'] = 'same-origin';
    }
    // Chromium asks for a favicon on every page; a 404 there would show up in `page.errors`.
    if (pathname === '/favicon.ico' && !pages[pathname]) {
      res.writeHead(204, headers).end();
      return;
    }
    const page = pages[pathname];
    if (page !== undefined) {
      res.writeHead(200, { ...headers, 'content-type': MIME['.html'] }).end(typeof page === 'function' ? page(origin) : page);
      return;
    }
    const file = resolve(root, '.' + pathname);
    if ((file !== root && !file.startsWith(root + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      missing.push(pathname);
      res.writeHead(404, headers).end(`not found: ${pathname}`);
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (path) => new URL(path, origin).href,
    missing,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
