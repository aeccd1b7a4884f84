/**
 * The dashboard against hostile data and careless use, in headless Chromium (skipped without
 * /usr/bin/chromium, except under CI): markup in every client-chosen value that reaches the
 * page, a token put in the URL, and a ledger with a great many events.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import type { LedgerRow } from '../../src/ledger/row.js';
import { openSqliteLedger } from '../../src/ledger/sqlite.js';
import { silentLogger } from '../../src/log/logger.js';
import { usdToPico } from '../../src/money/money.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { capturingLogger } from '../support/log-capture.js';
import { ledgerRow } from '../support/rows.js';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = !existsSync(CHROMIUM) && !process.env.CI;

const TOKEN = 'dash-admin-secret-7c1e';
const NOW = Date.parse('2026-12-15T12:30:00Z');
const HOUR = 3_600_000;

// Each would run script if it reached the DOM as markup; each sets its own flag.
const XSS = {
  org: '<img src=x onerror="window.__pwned_org=1">',
  team: '"><svg onload="window.__pwned_team=1">',
  user: '\'><iframe srcdoc="<script>parent.__pwned_user=1</script>">',
  endpoint: '/v1/<script>window.__pwned_endpoint=1</script>',
  model: '<details open ontoggle="window.__pwned_model=1">',
  reason: '</td><img src=x onerror="window.__pwned_reason=1">',
};

const YAML = `
admin:
  tokens:
    - { name: finance, token_env: ADMIN }
upstreams:
  openai: { format: openai, base_url: http://127.0.0.1:9 }
budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 10, period: 1d }
`;

function spent(id: string, atMs: number, extra: Partial<LedgerRow>): LedgerRow {
  return ledgerRow(id, atMs, { costPico: usdToPico('2.5'), ...extra });
}

const ROWS: LedgerRow[] = [
  spent('h1', NOW - HOUR, { ...XSS, reason: null }),
  spent('h2', NOW - 2 * HOUR, { org: XSS.org, tags: { app: XSS.team } }),
  ledgerRow('h3', NOW - 30 * 60_000, {
    ...XSS,
    status: 429,
    decision: 'reject',
    costPico: 0n,
  }),
];

let browser: Browser;
let gateway: TestGateway;
const clock = fakeClock(NOW);
const { logger, lines } = capturingLogger();

beforeAll(async () => {
  if (SKIP) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
    timeout: 15_000,
  });
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-dash-hostile-'));
  const ledger = openSqliteLedger({ path: join(dir, 'ledger.db'), logger: silentLogger() });
  for (const row of ROWS) ledger.append(row);
  await ledger.flush();
  gateway = await startGateway(YAML, {
    env: { ADMIN: TOKEN },
    clock,
    ledger,
    logger,
  });
  // Events whose messages carry client text: a kill switch on the hostile org, and others.
  const res = await fetch(`${gateway.url}/api/v1/kill-switches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ dimension: 'org', value: XSS.org, reason: XSS.reason }),
  });
  expect(res.status).toBe(201);
  gateway.deps.events.record('loop_detected', `loop detected for ${XSS.user}`, {
    scope: { org: XSS.org, team: XSS.team, user: XSS.user },
  });
  await gateway.deps.ledger.flush();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
});

async function signedIn(url = '/dashboard'): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(`${gateway.url}${url}`);
  await page.fill('#token', TOKEN);
  await page.press('#token', 'Enter');
  await page.locator('#events li.event').first().waitFor({ timeout: 10_000 });
  await page.locator('#stopped tbody tr td').first().waitFor({ timeout: 10_000 });
  return { page, problems };
}

describe.skipIf(SKIP)('dashboard: markup in client-chosen values', () => {
  it('shows every hostile value as text and runs none of it', async () => {
    const { page, problems } = await signedIn();
    // Give onerror/onload handlers of anything injected the time to fire.
    await page.waitForTimeout(300);

    const flags = await page.evaluate(() =>
      Object.keys(window).filter((k) => k.startsWith('__pwned')),
    );
    const injected = await page.evaluate(
      () =>
        document.querySelectorAll(
          'img[src="x"], svg[onload], iframe, details[ontoggle], [onerror], [onload]',
        ).length,
    );
    const scripts = await page.$$eval('script', (s) => s.map((n) => n.getAttribute('src')));
    const text = (await page.textContent('main')) ?? '';

    expect(flags).toEqual([]);
    expect(injected).toBe(0);
    expect(scripts).toHaveLength(1);
    expect(scripts[0]).toMatch(/^\/dashboard\/app\.js\?v=/);
    for (const value of [XSS.org, XSS.team, XSS.user, XSS.endpoint, XSS.model]) {
      expect(text).toContain(value);
    }
    expect(await page.textContent('#events')).toContain(`kill switch org=${XSS.org}`);
    expect(await page.textContent('#budgets')).toContain(`org=${XSS.org}`);
    expect(problems).toEqual([]);
  }, 30_000);
});

describe.skipIf(SKIP)('dashboard: a token in the URL', () => {
  it('is never logged, counted or echoed, and the page never reads it', async () => {
    const secret = 'url-token-0d9b1f';
    const asked = [
      `/dashboard?token=${secret}`,
      `/dashboard/app.js?token=${secret}`,
      `/dashboard/nothing-${secret}.js`,
      `/api/v1/spend?token=${secret}`,
      `/api/v1/${secret}`,
    ];
    const answers = await Promise.all(
      asked.map(async (path) => {
        const res = await fetch(`${gateway.url}${path}`);
        return `${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`;
      }),
    );
    const { page } = await signedIn(`/dashboard?token=${secret}#token=${secret}`);
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();

    const echoed = answers.filter((a) => a.includes(secret) && !a.includes('/dashboard/nothing'));
    expect(echoed).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain(secret);
    expect(metrics).not.toContain(secret);
    expect(stored).not.toContain(secret);
    expect(stored).toContain(TOKEN);
  }, 30_000);

  it('never puts a typed token in the URL, even when its script has not loaded', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // The form's default action is a GET to the page with the fields in the query string.
    await page.route('**/dashboard/app.js*', (route) => route.abort());
    await page.goto(`${gateway.url}/dashboard`);

    await page.fill('#token', TOKEN);
    // The submit's navigation is refused (CSP form-action 'none'): nothing to wait for.
    await page.press('#token', 'Enter', { noWaitAfter: true });
    await page.waitForTimeout(300);

    expect(page.url()).not.toContain(TOKEN);
    expect(page.url()).toBe(`${gateway.url}/dashboard`);
    await context.close();
  });
});

describe.skipIf(SKIP)('dashboard: a great many events', () => {
  it('shows the 50 newest and answers the events it asks for quickly', async () => {
    // 20,000 rejections (every refused request is an event) and 60 loop detections among them.
    for (let i = 0; i < 20_000; i++) {
      clock.advance(1);
      gateway.deps.events.record('rejection', `rejected ${i}`, { scope: { org: 'noisy' } });
      if (i % 333 === 0) {
        gateway.deps.events.record('loop_detected', `loop ${i}`, { scope: { org: 'noisy' } });
      }
    }
    await gateway.deps.ledger.flush();

    const started = performance.now();
    const res = await fetch(`${gateway.url}/api/v1/events?type=breaker_opened&limit=50`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const ms = performance.now() - started;
    const { page } = await signedIn();
    await page.waitForFunction(
      () => document.querySelectorAll('#events li.event[data-type="loop_detected"]').length >= 50,
      undefined,
      { timeout: 12_000 },
    );

    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(2_000);
    const shown = await page.$$eval('#events li.event', (items) => items.length);
    const rejections = await page.$$eval('#events li[data-type="rejection"]', (i) => i.length);
    expect(shown).toBe(50);
    expect(rejections).toBe(0);
    expect(await page.textContent('#events li.event')).toContain('loop 19980');
  }, 60_000);
});
