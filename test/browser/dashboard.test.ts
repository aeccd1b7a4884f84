/**
 * The dashboard in real headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core). Without Chromium the suite skips, except under CI, where it fails.
 * The page is the one `npm run build` wrote to dist/dashboard/public.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { loadConfigText } from '../../src/config/load.js';
import type { LedgerRow } from '../../src/ledger/row.js';
import { openSqliteLedger } from '../../src/ledger/sqlite.js';
import { silentLogger } from '../../src/log/logger.js';
import { formatUsd } from '../../src/money/display.js';
import { usdToPico } from '../../src/money/money.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { ledgerRow } from '../support/rows.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SKIP = !HAVE_CHROMIUM && !process.env.CI;
if (SKIP) {
  console.warn(`test/browser: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

const ENV = { ADMIN: 'admin-secret-9f2c', ACME: 'acme-viewer-secret-41d8' };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-12-15T12:30:00Z');
const FROM_7D = '2026-12-09T00:00:00.000Z';
const FROM_30D = '2026-11-16T00:00:00.000Z';
const HOSTILE_ORG = '<img src=x onerror="window.__pwned=1">';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');

const YAML = `
admin:
  tokens:
    - { name: finance, token_env: ADMIN }
    - { name: acme-viewer, token_env: ACME, scope: { org: acme } }
upstreams:
  openai: { format: openai, base_url: http://127.0.0.1:9 }
budgets:
  - name: org-monthly
    scope: { org: "*" }
    limit_usd: 80
    period: month
    actions: [ { at: 30, do: warn }, { at: 90, do: throttle, delay_ms: [100, 200] }, { at: 100, do: reject } ]
  - { name: org-daily, scope: { org: "*" }, limit_usd: 12, period: 1d }
`;

function usd(amount: string, atMs: number, extra: Partial<LedgerRow>): LedgerRow {
  const id = `r_${atMs}_${extra.org ?? 'acme'}_${amount}`;
  return ledgerRow(id, atMs, { costPico: usdToPico(amount), ...extra });
}

function rejected(atMs: number, org: string, team: string, user: string, reason: string) {
  return ledgerRow(`x_${atMs}_${user}`, atMs, {
    org,
    team,
    user,
    status: 429,
    decision: 'reject',
    reason,
    costPico: 0n,
    inputTokens: 0,
    outputTokens: 0,
  });
}

/** The rows every check below is worked out from. */
const ROWS: LedgerRow[] = [
  usd('7.50', NOW - HOUR, { org: 'acme', inputTokens: 1000 }),
  usd('2.50', NOW - 2 * DAY, { org: 'acme', inputTokens: 3000 }),
  usd('20', NOW - 10 * DAY, { org: 'acme' }),
  usd('500', Date.parse('2026-10-01T10:00:00Z'), { org: 'acme' }),
  usd('1234.56', NOW - DAY, {
    org: 'globex',
    team: 'ml',
    user: 'bob',
    endpoint: '/v1/messages',
    model: 'claude-sonnet-4',
    inputTokens: 9000,
  }),
  usd('0.0042', NOW - 2 * HOUR, { org: 'initech', inputTokens: 200 }),
  usd('0.50', NOW - 3 * HOUR, { org: HOSTILE_ORG }),
  rejected(NOW - 30 * 60_000, 'acme', 'search', 'alice', 'budget_exceeded'),
  rejected(NOW - 25 * 60_000, 'acme', 'search', 'alice', 'budget_exceeded'),
  rejected(NOW - 20 * 60_000, 'acme', 'search', 'alice', 'budget_exceeded'),
  rejected(NOW - DAY - 3 * HOUR, 'globex', 'ml', 'bob', 'rpm_exceeded'),
];

/** Starts a gateway on a fake clock whose ledger already holds `rows` (budgets see them). */
async function gatewayWith(rows: readonly LedgerRow[], yaml = YAML): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-dash-'));
  const ledger = openSqliteLedger({ path: join(dir, 'ledger.db'), logger: silentLogger() });
  for (const row of rows) ledger.append(row);
  await ledger.flush();
  return startGateway(yaml, { env: ENV, clock: fakeClock(NOW), ledger });
}

let browser: Browser;
let gateway: TestGateway;

beforeAll(async () => {
  if (SKIP) return;
  if (!HAVE_CHROMIUM) throw new Error(`CI needs ${CHROMIUM}: apt-get install -y chromium`);
  // launch() gives every browser a fresh temporary profile (user-data-dir) of its own.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
    ],
    timeout: 15_000,
  });
  gateway = await gatewayWith(ROWS);
  gateway.deps.events.record('loop_detected', 'loop detected: 12 identical prompts in 60s', {
    scope: { org: 'acme', team: 'search', user: 'alice' },
  });
  await gateway.deps.ledger.flush();
  mkdirSync(ARTIFACTS, { recursive: true });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
});

/** A page of a fresh context that may reach only the gateway; every other request is refused. */
async function openPage(
  base: string,
): Promise<{ page: Page; context: BrowserContext; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const problems: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith('data:')) return route.continue();
    problems.push(`request outside the gateway: ${url}`);
    return route.abort();
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  await page.goto(`${base}/dashboard`);
  return { page, context, problems };
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
}

async function apiSpend(query: string, token = ENV.ADMIN) {
  const res = await fetch(`${gateway.url}/api/v1/spend?${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await res.json()) as { data: Record<string, number | string>[] }).data;
}

/** The cells of a table's body rows, as text. */
function tableText(page: Page, id: string): Promise<string[][]> {
  return page.$$eval(`#${id} tbody tr`, (rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')),
  );
}

describe.skipIf(SKIP)('dashboard: signing in', () => {
  it('refuses a wrong token with a clear message and shows no data', async () => {
    const { page, context, problems } = await openPage(gateway.url);

    await signIn(page, 'not-a-token');
    const error = page.locator('#login-error');
    await error.waitFor({ state: 'visible' });

    expect(await error.textContent()).toContain('Token refused');
    expect(await page.locator('#main').isHidden()).toBe(true);
    expect(await page.$$('#tenants tbody tr')).toHaveLength(0);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    // The 401 answers are the only console errors (Chromium logs failed fetches).
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
    await context.close();
  });
});

describe.skipIf(SKIP)('dashboard: an unscoped token', () => {
  let page: Page;
  let context: BrowserContext;
  let problems: string[];

  beforeAll(async () => {
    ({ page, context, problems } = await openPage(gateway.url));
    await signIn(page, ENV.ADMIN);
    await page.locator('#tenants tbody tr td.num').first().waitFor();
  }, 20_000);

  afterAll(async () => {
    await context?.close();
  });

  it('keeps the token for this tab only, in session storage', async () => {
    expect(await page.evaluate(() => sessionStorage.getItem('spendgate.admin-token'))).toBe(
      ENV.ADMIN,
    );
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  it('shows the 7- and 30-day totals that GET /api/v1/spend gives', async () => {
    const [week] = await apiSpend(`from=${FROM_7D}`);
    const [month] = await apiSpend(`from=${FROM_30D}`);

    expect(week?.cost_usd).toBe(1245.0642);
    expect(month?.cost_usd).toBe(1265.0642);
    expect(await page.textContent('#total-7d')).toBe(formatUsd(Number(week?.cost_usd)));
    expect(await page.textContent('#total-7d')).toBe('$1,245.06');
    expect(await page.textContent('#total-30d')).toBe('$1,265.06');
  });

  it('lists each tenant with the spend the API gives it, largest first', async () => {
    const week = await apiSpend(`group_by=org&from=${FROM_7D}`);
    const month = await apiSpend(`group_by=org&from=${FROM_30D}`);
    const expected = month.map((m) => {
      const w = week.find((r) => r.org === m.org);
      return [
        String(m.org),
        formatUsd(Number(w?.cost_usd ?? 0)),
        formatUsd(Number(m.cost_usd)),
        String(m.requests),
      ];
    });

    const rows = await tableText(page, 'tenants');

    expect(rows).toEqual(expected);
    expect(rows).toEqual([
      ['globex', '$1,234.56', '$1,234.56', '2'],
      ['acme', '$10.00', '$30.00', '6'],
      [HOSTILE_ORG, '$0.50', '$0.50', '1'],
      ['initech', '$0.0042', '$0.0042', '1'],
    ]);
    // A hostile org name is shown as text and never runs.
    expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  it('draws the spend chart with uPlot, in the colour of its first series', async () => {
    const coloured = await page.$eval('#spend-chart canvas', (canvas) => {
      const c = canvas as HTMLCanvasElement;
      const pixels = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? [];
      let count = 0;
      // The first series is #0b57d0: count the pixels of the line, anti-aliasing allowed.
      for (let i = 0; i < pixels.length; i += 4) {
        const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
        if (a! > 200 && Math.abs(r! - 11) < 40 && Math.abs(g! - 87) < 40 && Math.abs(b! - 208) < 40)
          count++;
      }
      return count;
    });

    expect(coloured).toBeGreaterThan(50);
    expect(await page.getAttribute('#spend-chart', 'data-series')).toBe('4');
    expect(await page.textContent('#spend-chart .u-legend')).toContain('globex');
  });

  it('switches the charts to hourly buckets with a real button', async () => {
    await page.focus('#bucket-hour');
    await page.keyboard.press('Enter');
    await page.locator('#spend-chart-note', { hasText: 'per hour' }).waitFor();

    expect(await page.getAttribute('#bucket-hour', 'aria-pressed')).toBe('true');
    expect(await page.getAttribute('#bucket-day', 'aria-pressed')).toBe('false');
    expect(await page.$$('#spend-chart canvas')).toHaveLength(1);

    await page.click('#bucket-day');
    await page.locator('#spend-chart-note', { hasText: 'per day' }).waitFor();
  });

  it('shows a budget bar at its utilization, coloured by stage', async () => {
    const bar = page.locator('li[data-budget="org-monthly"][data-scope="org=acme"] .bar');
    const fill = bar.locator('.fill');

    expect(await bar.getAttribute('aria-valuenow')).toBe('37.5');
    expect(await fill.evaluate((n) => (n as HTMLElement).style.width)).toBe('37.5%');
    expect(await fill.getAttribute('class')).toBe('fill stage-warn');
    const globex = page.locator('li[data-budget="org-monthly"][data-scope="org=globex"]');
    expect(await globex.locator('.fill').getAttribute('class')).toBe('fill stage-reject');
    expect(await globex.locator('.fill').evaluate((n) => (n as HTMLElement).style.width)).toBe(
      '100%',
    );
  });

  it('shows the projected exhaustion the budgets API gives', async () => {
    const res = await fetch(`${gateway.url}/api/v1/budgets`, {
      headers: { authorization: `Bearer ${ENV.ADMIN}` },
    });
    const budgets = ((await res.json()) as { data: Record<string, unknown>[] }).data;
    const daily = budgets.find(
      (b) => b.name === 'org-daily' && (b.scope as { org: string }).org === 'acme',
    );

    expect(daily?.projected_exhaustion).toBe('2026-12-15T20:00:00.000Z');
    const text = await page.textContent('li[data-budget="org-daily"][data-scope="org=acme"]');
    expect(text).toContain('62.5% · $7.50 of $12.00');
    expect(text).toContain('Projected to run out 2026-12-15 20:00 UTC');
  });

  it('says who was stopped, for what and how often', async () => {
    const rows = await tableText(page, 'stopped');

    expect(rows).toEqual([
      ['acme', 'search', 'alice', 'budget_exceeded', '3', '2026-12-15 12:10 UTC'],
      ['globex', 'ml', 'bob', 'rpm_exceeded', '1', '2026-12-14 09:30 UTC'],
    ]);
    expect(await page.textContent('#stopped-note')).toBe(
      'All 4 rejected requests, since 2026-12-14 09:30 UTC.',
    );
  });

  it('lists the top endpoints and models with their average prompt', async () => {
    const [chat] = await apiSpend(
      `group_by=endpoint&from=${FROM_7D}&endpoint=/v1/chat/completions`,
    );

    expect(await tableText(page, 'endpoints')).toEqual([
      ['/v1/messages', '$1,234.56', '1', '9,000'],
      // 1000 + 3000 + 200 + 100 prompt tokens over 4 served and 4 rejected requests: 537.5.
      ['/v1/chat/completions', formatUsd(Number(chat?.cost_usd)), String(chat?.requests), '538'],
    ]);
    expect((await tableText(page, 'models'))[0]).toEqual([
      'claude-sonnet-4',
      '$1,234.56',
      '1',
      '9,000',
    ]);
  });

  it('refreshes by itself and lists a kill switch created through the API', async () => {
    const before = await page.textContent('#updated');
    const res = await fetch(`${gateway.url}/api/v1/kill-switches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ENV.ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ dimension: 'user', value: 'mallory', reason: 'runaway agent' }),
    });
    expect(res.status).toBe(201);

    const item = page.locator('#events li[data-type="kill_switch_created"]');
    await item.waitFor({ timeout: 12_000 });

    expect(await item.textContent()).toContain('kill switch user=mallory set by finance');
    expect(await item.locator('.event-type').textContent()).toBe('Kill switch set');
    expect(await page.textContent('#events li[data-type="loop_detected"]')).toContain(
      'loop detected: 12 identical prompts',
    );
    expect(await page.textContent('#updated')).toMatch(/^Updated at \d\d:\d\d:\d\d$/);
    expect(await page.textContent('#updated')).not.toBe(before);
  }, 20_000);

  it('narrows the tenants to a search', async () => {
    await page.fill('#search', 'GLOB');
    await page.waitForFunction(() => document.querySelectorAll('#tenants tbody tr').length === 1);

    expect(await tableText(page, 'tenants')).toEqual([['globex', '$1,234.56', '$1,234.56', '2']]);
    expect(
      await page.$$eval('#budgets li', (items) => items.map((i) => i.getAttribute('data-scope'))),
      // Globex spent nothing today, so it has no org-daily instance.
    ).toEqual(['org=globex']);
    expect(await page.textContent('#budgets-count')).toBe(
      '1 of 1 matching budget instances (7 in all), most used first.',
    );

    await page.fill('#search', '');
    await page.waitForFunction(() => document.querySelectorAll('#tenants tbody tr').length === 4);
  });

  it('reaches every control with the keyboard, in page order, with a visible focus ring', async () => {
    await page.focus('#skip');
    const order = ['skip'];
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement?.id ?? ''));
    }
    const outline = await page.evaluate(
      () => getComputedStyle(document.activeElement as Element).outlineStyle,
    );

    expect(order).toEqual([
      'skip',
      'refresh-now',
      'sign-out',
      'search',
      'bucket-hour',
      'bucket-day',
    ]);
    expect(outline).toBe('solid');
  });

  it('loads nothing from outside the gateway and logs no errors', async () => {
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    expect(problems).toEqual([]);
    expect(existsSync(join(ARTIFACTS, 'dashboard.png'))).toBe(true);
  });
});

describe.skipIf(SKIP)('dashboard: a scoped token', () => {
  it('sees only its org', async () => {
    const { page, context, problems } = await openPage(gateway.url);
    await signIn(page, ENV.ACME);
    await page.locator('#tenants tbody tr td.num').first().waitFor();
    const [month] = await apiSpend(`from=${FROM_30D}`, ENV.ACME);

    expect(month?.cost_usd).toBe(30);
    expect(await page.textContent('#total-30d')).toBe('$30.00');
    expect(await page.textContent('#total-7d')).toBe('$10.00');
    expect(await tableText(page, 'tenants')).toEqual([['acme', '$10.00', '$30.00', '6']]);
    expect(
      await page.$$eval('#budgets li', (items) => items.map((i) => i.getAttribute('data-scope'))),
    ).toEqual(['org=acme', 'org=acme']);
    const text = (await page.textContent('main')) ?? '';
    expect(text).not.toContain('globex');
    expect(text).not.toContain('initech');
    expect(text).toContain('loop detected');
    expect(problems).toEqual([]);
    await context.close();
  }, 20_000);
});

describe.skipIf(SKIP)('dashboard: ten thousand tenants', () => {
  let big: TestGateway;

  beforeAll(async () => {
    const rows: LedgerRow[] = [];
    for (let i = 0; i < 10_000; i++) {
      const org = `org-${String(i).padStart(5, '0')}`;
      rows.push(
        ledgerRow(`t${i}`, NOW - (i % 600) * 60_000, {
          org,
          costPico: BigInt(i + 1) * 1_000_000_000n,
        }),
      );
    }
    big = await gatewayWith(rows);
  }, 30_000);

  afterAll(async () => {
    await big?.close();
  });

  it('shows the top 20 and finds any other one by search', async () => {
    const { page, context, problems } = await openPage(big.url);
    const budgetCalls: { query: string; rows: number }[] = [];
    page.on('response', async (res) => {
      const url = new URL(res.url());
      if (url.pathname !== '/api/v1/budgets') return;
      // A response still arriving when the context closes has no body any more: not counted.
      const body = (await res.json().catch(() => null)) as { data: unknown[] } | null;
      if (body) budgetCalls.push({ query: url.search, rows: body.data.length });
    });
    await signIn(page, ENV.ADMIN);
    await page.locator('#tenants tbody tr td.num').first().waitFor({ timeout: 15_000 });

    const rows = await tableText(page, 'tenants');
    expect(rows).toHaveLength(20);
    expect(rows[0]).toEqual(['org-09999', '$10.00', '$10.00', '1']);
    expect(await page.textContent('#tenants-count')).toBe(
      'Top 20 of 10,000 tenants by 30-day spend',
    );
    expect(await page.$$('#budgets li')).toHaveLength(20);
    expect(await page.textContent('#budgets-count')).toBe(
      '20 of 20,000 budget instances, most used first.',
    );

    await page.fill('#search', 'org-00042');
    await page.waitForFunction(
      () => document.querySelector('#tenants tbody td')?.textContent === 'org-00042',
    );

    expect(await tableText(page, 'tenants')).toEqual([['org-00042', '$0.04', '$0.04', '1']]);
    await page.waitForFunction(() => document.querySelectorAll('#budgets li').length === 2);
    // $0.043 of $12 today is used more than $0.043 of $80 this month.
    expect(
      await page.$$eval('#budgets li', (items) =>
        items.map((i) => `${i.getAttribute('data-budget')} ${i.getAttribute('data-scope')}`),
      ),
    ).toEqual(['org-daily org=org-00042', 'org-monthly org=org-00042']);
    expect(await page.textContent('#budgets-count')).toBe(
      '2 of 2 matching budget instances (20,000 in all), most used first.',
    );
    // The gateway ranked and searched the 20,000 instances: the page got 20 at most each time.
    expect(budgetCalls.map((c) => c.query)).toContain('?limit=20');
    expect(budgetCalls.map((c) => c.query)).toContain('?limit=20&q=org-00042');
    expect(budgetCalls.map((c) => c.query)).toContain('?limit=1');
    expect(Math.max(...budgetCalls.map((c) => c.rows))).toBe(20);
    expect(problems).toEqual([]);
    await context.close();
  }, 30_000);
});

describe.skipIf(SKIP)('dashboard: long names in a 1280 px window', () => {
  let own: TestGateway;

  beforeAll(async () => {
    own = await gatewayWith([
      rejected(
        NOW - HOUR,
        'acme-corporation-europe',
        'search-relevance-ranking',
        'alice.johnson@acme-corporation.example',
        'circuit_breaker_open',
      ),
      rejected(
        NOW - 2 * HOUR,
        'globex-international',
        'machine-learning-platform',
        'service-account-batch-embeddings',
        'store_unavailable',
      ),
    ]);
  }, 30_000);

  afterAll(async () => {
    await own?.close();
  });

  it('keeps the who-was-stopped table inside its panel, two panels to a row', async () => {
    const { page, context, problems } = await openPage(own.url);
    await signIn(page, ENV.ADMIN);
    await page.locator('#stopped tbody tr td.num').first().waitFor();

    const table = await page.locator('#stopped').boundingBox();
    const panel = await page.locator('section[aria-labelledby="rejects-title"]').boundingBox();

    expect(page.viewportSize()?.width).toBe(1280);
    expect(table!.x + table!.width).toBeLessThanOrEqual(panel!.x + panel!.width);
    expect(problems).toEqual([]);
    await context.close();
  }, 30_000);
});

describe.skipIf(SKIP)('dashboard: requests refused before a model was known', () => {
  let own: TestGateway;

  beforeAll(async () => {
    own = await gatewayWith([
      usd('2.50', NOW - HOUR, { inputTokens: 1000 }),
      ledgerRow('x_no_model', NOW - 2 * HOUR, {
        model: '',
        resolvedModel: null,
        status: 401,
        decision: 'reject',
        reason: 'invalid_token',
        costPico: 0n,
        inputTokens: 0,
        outputTokens: 0,
      }),
    ]);
  }, 30_000);

  afterAll(async () => {
    await own?.close();
  });

  it('lists them in the models table under (none)', async () => {
    const { page, context, problems } = await openPage(own.url);
    await signIn(page, ENV.ADMIN);
    await page.locator('#models tbody tr td.num').first().waitFor();

    expect(await tableText(page, 'models')).toEqual([
      ['gpt-4o', '$2.50', '1', '1,000'],
      ['(none)', '$0.00', '1', '0'],
    ]);
    expect(problems).toEqual([]);
    await context.close();
  }, 30_000);
});

describe.skipIf(SKIP)('dashboard: requests to a model with no price', () => {
  let own: TestGateway;

  beforeAll(async () => {
    own = await gatewayWith([
      usd('2.50', NOW - HOUR, { inputTokens: 1000 }),
      ...[1, 2, 3].map((i) =>
        ledgerRow(`u_llama_${i}`, NOW - i * DAY, {
          model: 'my-llama',
          resolvedModel: null,
          costPico: null,
          priceSource: null,
          flags: ['unpriced_model'],
        }),
      ),
    ]);
  }, 30_000);

  afterAll(async () => {
    await own?.close();
  });

  it('says under the totals how many requests they leave out', async () => {
    const { page, context, problems } = await openPage(own.url);
    await signIn(page, ENV.ADMIN);
    await page.locator('#tenants tbody tr td.num').first().waitFor();

    expect(await page.textContent('#total-30d')).toBe('$2.50');
    expect(await page.textContent('#totals-note')).toBe(
      'Calendar days in UTC, today included; every tenant this token can see. ' +
        'Not included: 3 requests in the last 30 days to models with no price ' +
        '(cost unknown; see pricing.models).',
    );
    expect(problems).toEqual([]);
    await context.close();
  }, 30_000);
});

describe.skipIf(SKIP)('dashboard: a token that stops working', () => {
  let own: TestGateway;

  beforeAll(async () => {
    own = await gatewayWith(ROWS);
  }, 30_000);

  afterAll(async () => {
    await own?.close();
  });

  it('signs the page out with "Token refused" on the next refresh', async () => {
    const { page, context, problems } = await openPage(own.url);
    await signIn(page, ENV.ACME);
    await page.locator('#tenants tbody tr td.num').first().waitFor();
    expect(await tableText(page, 'tenants')).toEqual([['acme', '$10.00', '$30.00', '6']]);

    // The acme viewer's token is rotated: its variable holds a new value, and the config is
    // reloaded, as `spendgate serve` does when the file changes.
    const rotated = { ...ENV, ACME: 'acme-viewer-rotated-7e1b' };
    const result = await own.reload(loadConfigText(YAML, join(own.dir, 'spendgate.yaml'), rotated));
    expect(result).toEqual({ ok: true, problem: null });
    const error = page.locator('#login-error');
    await error.waitFor({ state: 'visible', timeout: 12_000 });

    expect(await error.textContent()).toBe(
      'Token refused: the gateway did not accept this admin token. Check it and try again.',
    );
    expect(await page.locator('#login').isVisible()).toBe(true);
    expect(await page.locator('#main').isHidden()).toBe(true);
    expect(await page.$$('#tenants tbody tr')).toHaveLength(0);
    expect(await page.evaluate(() => sessionStorage.getItem('spendgate.admin-token'))).toBeNull();
    // The 401 answers are the only console errors (Chromium logs failed fetches).
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);

    await signIn(page, rotated.ACME);
    await page.locator('#tenants tbody tr td.num').first().waitFor();
    expect(await tableText(page, 'tenants')).toEqual([['acme', '$10.00', '$30.00', '6']]);
    expect(await page.locator('#login-error').isHidden()).toBe(true);
    await context.close();
  }, 30_000);
});
