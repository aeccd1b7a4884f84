import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../clock.js';
import { DashboardAssets } from './assets.js';
import { createDashboardHandler, isDashboardPath } from './serve.js';

const NOW = Date.parse('2026-12-15T12:30:00Z');
const JS = 'console.log("dashboard");';
const JS_DIGEST = createHash('sha256').update(JS).digest('hex');

const root = mkdtempSync(join(tmpdir(), 'spendgate-dashboard-'));
const dir = join(root, 'public');
let server: Server;
let base: string;

beforeAll(async () => {
  const handle = createDashboardHandler(new DashboardAssets(dir));
  const clock = fakeClock(NOW);
  server = createServer((req, res) => handle(clock, req, res, new URL(req.url ?? '/', 'http://x')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('dashboard files: before the build', () => {
  it('answers 503 with what to do, then serves the files once they are built', async () => {
    const before = await fetch(`${base}/dashboard`);
    const body = (await before.json()) as { error: { code: string; message: string } };

    expect(before.status).toBe(503);
    expect(body.error.code).toBe('dashboard_not_built');
    expect(body.error.message).toContain('npm run build');

    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'app.js'), JS);
    writeFileSync(join(dir, 'app.css'), 'body{margin:0}');
    expect((await fetch(`${base}/dashboard`)).status).toBe(200);
  });
});

describe('dashboard files: the page', () => {
  it('serves the login page uncached, with the gateway time and versioned asset links', async () => {
    const res = await fetch(`${base}/dashboard`);
    const html = await res.text();

    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html).toContain(`<meta name="spendgate-now" content="${NOW}">`);
    expect(html).toContain(`src="/dashboard/app.js?v=${JS_DIGEST.slice(0, 12)}"`);
    expect(html).toContain('<form id="login-form"');
    expect(html).not.toMatch(/https?:\/\//);
  });
});

describe('dashboard files: assets', () => {
  it('lets the current version be cached for a year', async () => {
    const res = await fetch(`${base}/dashboard/app.js?v=${JS_DIGEST.slice(0, 12)}`);

    expect(res.status).toBe(200);
    expect(await res.text()).toBe(JS);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('etag')).toBe(`"${JS_DIGEST.slice(0, 32)}"`);
  });

  it('has any other URL of a file revalidated, and answers 304 to a matching ETag', async () => {
    const plain = await fetch(`${base}/dashboard/app.css`);
    const again = await fetch(`${base}/dashboard/app.css`, {
      headers: { 'if-none-match': plain.headers.get('etag') ?? '' },
    });

    expect(plain.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(plain.headers.get('cache-control')).toBe('no-cache');
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('answers HEAD without a body, 404 to unknown files and 405 to other methods', async () => {
    const head = await fetch(`${base}/dashboard/app.js`, { method: 'HEAD' });
    const unknown = await fetch(`${base}/dashboard/secrets.json`);
    const post = await fetch(`${base}/dashboard`, { method: 'POST', body: 'x' });

    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(JS.length));
    expect(await head.text()).toBe('');
    expect(unknown.status).toBe(404);
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('dashboard paths', () => {
  it('takes /dashboard and what lies below it, nothing else', () => {
    expect(isDashboardPath('/dashboard')).toBe(true);
    expect(isDashboardPath('/dashboard/app.js')).toBe(true);
    expect(isDashboardPath('/dashboards')).toBe(false);
    expect(isDashboardPath('/openai/dashboard')).toBe(false);
  });
});
