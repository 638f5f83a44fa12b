// `npm run playground`: serves the playground page, the built library (dist/) and The Time
// Machine (data/timemachine.txt) on http://localhost:8080/ (PORT=… to change), with the
// COOP/COEP headers that make the page cross-origin isolated, so that the model can use
// threads (SharedArrayBuffer). Serves nothing else from the repository. Run `npm run build`
// first: the page imports dist/index.js.
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** What may be served: the page's folder, the library's build, and the one text it preloads. */
function allowed(file) {
  return [join(root, 'examples', 'playground') + sep, join(root, 'dist') + sep].some((d) => file.startsWith(d)) ||
    file === join(root, 'data', 'timemachine.txt');
}

/** A request handler: `/` redirects to the page; everything else is a file or a 404. */
export async function handle(req, res) {
  const headers = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cache-Control': 'no-store',
  };
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  if (path === '/' || path === '/examples/playground') {
    res.writeHead(302, { ...headers, Location: '/examples/playground/' }).end();
    return;
  }
  const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
  const type = TYPES[extname(file)];
  if (!allowed(file) || type === undefined) {
    res.writeHead(404, headers).end('not found');
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { ...headers, 'Content-Type': type }).end(body);
  } catch {
    res.writeHead(404, headers).end('not found');
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    console.error('playground: dist/index.js is missing; run `npm run build` first');
    process.exit(1);
  }
  const port = Number(process.env.PORT ?? 8080);
  const server = createServer((req, res) => void handle(req, res));
  server.on('error', (error) => {
    console.error(`playground: ${error.code === 'EADDRINUSE' ? `port ${port} is in use (PORT=8081 npm run playground)` : error.message}`);
    process.exit(1);
  });
  server.listen(port, () => console.log(`playground: http://localhost:${port}/  (Ctrl-C to stop)`));
}
