/**
 * The `server` way of getting model files into the inspector panel (attentionInspector.weightsTransport):
 * an HTTP server of the extension host on 127.0.0.1 that answers the page's range requests for the files
 * of the model folders handed to that panel. The page reaches it at the URL `vscode.env.asExternalUri`
 * gives (code-server: its own port proxy, `/proxy/PORT/`; desktop VS Code: the loopback address itself,
 * forwarded when the extension host is remote). Why a server: the webview resource loader and the host's
 * webview messages both carried 548 MB at 2–12 MB/s in code-server here, this path at 77–80 MB/s (README,
 * "Weights into the webview").
 *
 * The port is open to every process of the machine, so each folder is served under a random 128-bit token
 * that only the panel's page is told, and only the loader's file names (modelFileRanges.ts). No vscode
 * import: the URL mapping is given (unit tests run it in Node).
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { isServedName } from './modelFileRanges.js';

/** What the page is sent with every answer: the token in the URL is the secret, not the page's origin. */
/** How long `asExternalUri` may take: past it the panel reads by webview URI rather than wait for good. */
const EXTERNAL_URI_TIMEOUT_MS = 15_000;

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Content-Range, Content-Length, Accept-Ranges',
};

export class ModelFileServer {
  private started: Promise<{ server: Server; base: string }> | undefined;
  private readonly folderOfToken = new Map<string, string>();
  private readonly tokenOfFolder = new Map<string, string>();
  private disposed = false;

  /** `toExternal`: the URL the page reaches a loopback URL at (vscode.env.asExternalUri). */
  constructor(private readonly toExternal: (localUrl: string) => Promise<string>) {}

  /** Where every folder's URL begins, as the page reaches it, ending in '/' (the page's CSP allows it). */
  async base(): Promise<string> {
    return (await this.start()).base;
  }

  /** The URL of `folder` (a path on disk) for the page, ending in '/'. */
  async folderUrl(folder: string): Promise<string> {
    const { base } = await this.start();
    let token = this.tokenOfFolder.get(folder);
    if (!token) {
      token = randomBytes(16).toString('hex');
      this.tokenOfFolder.set(folder, token);
      this.folderOfToken.set(token, folder);
    }
    return `${base}${token}/`;
  }

  dispose(): void {
    this.disposed = true;
    this.folderOfToken.clear();
    this.tokenOfFolder.clear();
    void this.started?.then(({ server }) => {
      server.close();
      server.closeAllConnections();
    }, () => undefined);
  }

  private start(): Promise<{ server: Server; base: string }> {
    if (this.disposed) return Promise.reject(new Error('the model file server was closed'));
    this.started ??= (async () => {
      const server = createServer((req, res) => void this.answer(req, res).catch(() => res.destroy()));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      try {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const external = await Promise.race([
          this.toExternal(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no external URL for its port within ${EXTERNAL_URI_TIMEOUT_MS / 1000} s`)), EXTERNAL_URI_TIMEOUT_MS))),
        ]).finally(() => clearTimeout(timer));
        if (this.disposed) throw new Error('the model file server was closed');
        return { server, base: external.endsWith('/') ? external : `${external}/` };
      } catch (e) {
        server.close();
        throw e;
      }
    })();
    return this.started;
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'access-control-allow-methods': 'GET, HEAD', 'access-control-allow-headers': 'Range', 'access-control-max-age': '600' });
      return void res.end();
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.refuse(res, 405);
    const [, token, name, ...rest] = (req.url ?? '').split('?')[0]!.split('/');
    const folder = token === undefined ? undefined : this.folderOfToken.get(token);
    if (folder === undefined || name === undefined || rest.length > 0 || !isServedName(decodeURIComponent(name))) return this.refuse(res, 404);
    // Opened once: the size and the bytes sent are of the same file, even if it is replaced meanwhile.
    const handle = await fsp.open(path.join(folder, decodeURIComponent(name)), 'r').catch(() => undefined);
    if (!handle) return this.refuse(res, 404);
    let sending = false;
    try {
      sending = await this.answerFile(req, res, handle);
    } finally {
      if (!sending) await handle.close();
    }
  }

  /** Answers from an open file; true when its bytes are being sent (the stream then closes the file). */
  private async answerFile(req: IncomingMessage, res: ServerResponse, handle: fsp.FileHandle): Promise<boolean> {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      this.refuse(res, 404);
      return false;
    }
    const headers = { ...CORS, 'content-type': 'application/octet-stream', 'cache-control': 'no-store', 'accept-ranges': 'bytes' };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!range) {
      res.writeHead(200, { ...headers, 'content-length': String(stat.size) });
      return this.send(req, res, handle, 0, stat.size - 1);
    }
    const start = Number(range[1]);
    if (stat.size === 0) {
      // The form the webview resource loader answers an empty file with, which the page's reader knows.
      res.writeHead(206, { ...headers, 'content-range': 'bytes 0--1/0', 'content-length': '0' });
      res.end();
      return false;
    }
    const end = Math.min(range[2] ? Number(range[2]) : stat.size - 1, stat.size - 1);
    if (start >= stat.size || end < start) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${stat.size}` });
      res.end();
      return false;
    }
    res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${stat.size}`, 'content-length': String(end - start + 1) });
    return this.send(req, res, handle, start, end);
  }

  /**
   * Streams bytes start…end of the open file; the stream closes it. A file cut short after the headers
   * drops the connection, so the page sees a failed read, never short bytes; a page that stops reading
   * (a cancelled load, the panel closed) ends the stream with it.
   */
  private send(req: IncomingMessage, res: ServerResponse, handle: fsp.FileHandle, start: number, end: number): boolean {
    if (req.method === 'HEAD' || end < start) {
      res.end();
      return false;
    }
    const stream = handle.createReadStream({ start, end });
    let sent = 0;
    stream.on('data', (chunk) => (sent += chunk.length));
    stream.on('error', () => res.destroy());
    stream.on('end', () => (sent === end - start + 1 ? res.end() : res.destroy()));
    res.on('close', () => stream.destroy());
    stream.pipe(res, { end: false });
    return true;
  }

  private refuse(res: ServerResponse, status: number): void {
    res.writeHead(status, { ...CORS, 'content-length': '0' });
    res.end();
  }
}
