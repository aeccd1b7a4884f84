import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import { sendJsonError } from '../api/http.js';
import { DashboardAssets, type Asset } from './assets.js';
import { renderDashboardPage } from './page.js';

/**
 * The page loads only its own script and stylesheet and talks only to this origin, so an
 * attribution value that slipped into the DOM as markup could neither run nor send data away.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** A URL with the asset's current `?v=` never changes, so browsers may keep it for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Whether a request path belongs to the dashboard: `/dashboard` and what lies below it. */
export function isDashboardPath(pathname: string): boolean {
  return pathname === '/dashboard' || pathname.startsWith('/dashboard/');
}

/** Serves `GET /dashboard` (the page) and `/dashboard/<asset>` from the built files. */
export function createDashboardHandler(assets = new DashboardAssets()) {
  return function handleDashboard(
    clock: Clock,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJsonError(res, 405, 'method_not_allowed', `${url.pathname} answers GET, HEAD`);
    }
    const built = assets.all();
    if (!built) {
      return sendJsonError(
        res,
        503,
        'dashboard_not_built',
        'the dashboard is not built: run `npm run build` (it writes dist/dashboard/public)',
      );
    }

    if (url.pathname === '/dashboard' || url.pathname === '/dashboard/') {
      const page = renderDashboardPage({
        jsVersion: built.get('app.js')?.version ?? '',
        cssVersion: built.get('app.css')?.version ?? '',
        nowMs: clock.now(),
      });
      // The page carries the gateway's time, so it is never cached.
      return send(req, res, 200, Buffer.from(page), {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
    }

    const asset = built.get(url.pathname.slice('/dashboard/'.length));
    if (!asset) {
      return sendJsonError(res, 404, 'not_found', `no dashboard file ${url.pathname}`);
    }
    sendAsset(req, res, url, asset);
  };
}

function sendAsset(req: IncomingMessage, res: ServerResponse, url: URL, asset: Asset): void {
  // An old `?v=` (a page from before a rebuild) still gets the file, but only revalidated.
  const cacheControl = url.searchParams.get('v') === asset.version ? IMMUTABLE : 'no-cache';
  const headers = { 'content-type': asset.contentType, 'cache-control': cacheControl };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, { ...SECURITY_HEADERS, etag: asset.etag, 'cache-control': cacheControl });
    res.end();
    return;
  }
  send(req, res, 200, asset.body, { ...headers, etag: asset.etag });
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: Buffer,
  headers: Record<string, string>,
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    'content-length': body.length,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The handler over the assets the build wrote; one per process, since they never change. */
export const handleDashboard = createDashboardHandler();
