/**
 * `/`: the browser chat page (client/web/), its script bundled from the real client library with esbuild on
 * the first request. The page connects to this stack's stage on the host that served it and gets its tokens
 * from the development identity provider (LOCAL_IDP.tokenPath).
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HttpHandler } from './gateway/gateway.ts';
import { LOCAL_IDP } from './idp.ts';

const PAGE_DIR = new URL('../client/web/', import.meta.url);
const SCRIPT_PATH = '/_chat/chat-page.js';

async function bundlePageScript(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('chat-page.ts', PAGE_DIR))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

export function chatPageHandler(stage: string): HttpHandler {
  const settings: Record<string, string> = { stage, tokenPath: LOCAL_IDP.tokenPath, scriptPath: SCRIPT_PATH };
  const page = readFileSync(new URL('chat-page.html', PAGE_DIR), 'utf8').replace(/\{\{(\w+)\}\}/g, (_m, key: string) => {
    const value = settings[key];
    if (value === undefined) throw new Error(`chat-page.html asks for an unknown setting {{${key}}}`);
    return value;
  });
  let script: Promise<string> | undefined;
  return (req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' || (pathname !== '/' && pathname !== SCRIPT_PATH)) return false;
    if (pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
      return true;
    }
    script ??= bundlePageScript();
    script.then(
      (code) => res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(code),
      (error: Error) => {
        // Not cached: the next request tries again (after the source is fixed).
        script = undefined;
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`bundling the chat page failed:\n${error.message}`);
      },
    );
    return true;
  };
}
