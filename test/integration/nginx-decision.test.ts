import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/identity/keys.js';
import { ADMIN_ENV, ADMIN_YAML, budgetsOf } from '../support/budgets.js';
import { reportUsage } from '../support/decision.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { costUsd, rowOf } from '../support/ledger.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { anthropicMessage, anthropicUsage, chatCompletion, chatUsage } from '../support/wire.js';

// Real nginx, configured with the shipped examples/nginx/spendgate.conf (only its addresses
// changed), in front of a mock provider, with a gateway as its decision service. Output costs
// $0.01 a token and input nothing, so a request reserves exactly its max output tokens in cents.
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((p) =>
  existsSync(p),
);
const SHIPPED = new URL('../../examples/nginx/spendgate.conf', import.meta.url);
const START_TIMEOUT_MS = 10_000;
/** What the test's provider-keys file gives nginx to send on. */
const PROVIDER_KEYS = { openai: 'sk-test-openai-0001', anthropic: 'sk-ant-test-0002' };

if (!NGINX && !process.env.CI) {
  console.warn('nginx-decision.test.ts: skipped, nginx is not installed (apt-get install nginx)');
}

/** A port nobody listens on right now, for nginx. */
async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The shipped file with the test's addresses; every one of them must be found. */
function shippedWith(addresses: {
  nginx: number;
  gateway: number;
  upstream: string;
  providerKeys: string;
}): string {
  let text = readFileSync(SHIPPED, 'utf8');
  const swap = (from: string, to: string): void => {
    if (!text.includes(from)) throw new Error(`spendgate.conf no longer contains "${from}"`);
    text = text.replaceAll(from, to);
  };
  swap('listen 8000;', `listen 127.0.0.1:${addresses.nginx};`);
  swap('server 127.0.0.1:8080;', `server 127.0.0.1:${addresses.gateway};`);
  swap('proxy_pass https://api.openai.com/;', `proxy_pass ${addresses.upstream}/;`);
  swap('proxy_pass https://api.anthropic.com/;', `proxy_pass ${addresses.upstream}/;`);
  swap('include /etc/nginx/spendgate-provider-keys.conf;', `include ${addresses.providerKeys};`);
  return text;
}

/** Starts nginx in the foreground, everything it writes inside `dir`; resolves once it listens. */
async function startNginx(binary: string, dir: string, port: number): Promise<ChildProcess> {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/spendgate.conf;
}
`,
  );
  const child = spawn(
    binary,
    ['-p', dir, '-e', `${dir}/error.log`, '-c', conf, '-g', 'daemon off;'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const until = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}`);
    if (await accepts(port)) return child;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not listen on ${port} within ${START_TIMEOUT_MS} ms: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Stops nginx by its PID (SIGQUIT: a graceful stop of its master and workers). */
async function stopNginx(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGQUIT');
  const timer = setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

describe.skipIf(!NGINX && !process.env.CI)('nginx auth_request with the decision service', () => {
  let dir: string;
  let upstream: MockUpstream;
  let gateway: TestGateway;
  let nginx: ChildProcess | undefined;
  let base: string;
  let gatewayClosed = false;
  let clientKey: string;

  beforeAll(async () => {
    if (!NGINX) throw new Error('nginx is required under CI: apt-get install -y nginx');
    dir = mkdtempSync(join(tmpdir(), 'spendgate-nginx-'));
    // nginx's workers may run as another user than the test: they must reach their temp paths.
    chmodSync(dir, 0o755);
    upstream = await startMockUpstream();
    upstream.reply('/v1/chat/completions', {
      kind: 'json',
      body: chatCompletion('flat-model', 'Hello!', chatUsage(9, 30)),
    });
    upstream.reply('/v1/messages', {
      kind: 'json',
      body: anthropicMessage('claude-flat', 'Hello!', anthropicUsage(9, 3)),
    });
    const keysFile = join(dir, 'keys.yaml');
    clientKey = createKey(keysFile, { org: 'keyed' }).key;
    const providerKeys = join(dir, 'provider-keys.conf');
    writeFileSync(
      providerKeys,
      `set $openai_api_key "${PROVIDER_KEYS.openai}";\nset $anthropic_api_key "${PROVIDER_KEYS.anthropic}";\n`,
    );
    gateway = await startGateway(
      `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
  anthropic: { format: anthropic, base_url: ${upstream.url} }
identity: { require_credential: false, api_keys: { file: ${keysFile} } }
${ADMIN_YAML}
pricing:
  models:
    flat-model: { input_per_mtok: 0, output_per_mtok: 10000 }
    claude-flat: { input_per_mtok: 0, output_per_mtok: 10000 }
budgets:
  - name: org-daily
    scope: { org: "*" }
    limit_usd: 1
    period: 1d
    actions: [{ at: 50, do: warn }, { at: 100, do: reject }]
`,
      { env: ADMIN_ENV },
    );
    const port = await freePort();
    const gatewayPort = Number(new URL(gateway.url).port);
    writeFileSync(
      join(dir, 'spendgate.conf'),
      shippedWith({ nginx: port, gateway: gatewayPort, upstream: upstream.url, providerKeys }),
    );
    nginx = await startNginx(NGINX, dir, port);
    base = `http://127.0.0.1:${port}`;
  }, 30_000);

  afterAll(async () => {
    if (nginx) await stopNginx(nginx);
    if (!gatewayClosed) await gateway?.close();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const hints = (org: string, maxOutput: number) => ({
    'x-org-id': org,
    'x-spendgate-model': 'flat-model',
    'x-spendgate-estimate-tokens': '9',
    'x-spendgate-max-output-tokens': String(maxOutput),
  });
  const chat = { model: 'flat-model', messages: [{ role: 'user', content: 'Hi' }] };

  it('forwards an allowed request and adds the decision headers to the answer', async () => {
    const before = upstream.received.length;

    const answer = await post(`${base}/openai/v1/chat/completions`, chat, hints('allowed', 60));

    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({
      object: 'chat.completion',
      model: 'flat-model',
    });
    expect(answer.headers.get('x-spendgate-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.headers.get('x-spendgate-budget-warning')).toBe('org-daily; used=60%');
    expect(answer.headers.get('ratelimit-policy')).toBe('"org-daily";q=1000000;w=86400');
    expect(answer.headers.get('ratelimit')).toMatch(/^"org-daily";r=400000;t=\d+$/);
    expect(answer.headers.get('x-spendgate-reason')).toBeNull();
    const forwarded = upstream.received[before];
    expect(upstream.received.length).toBe(before + 1);
    expect(forwarded?.url).toBe('/v1/chat/completions');
    expect(JSON.parse(forwarded?.body ?? '')).toEqual(chat);
    expect(forwarded?.headers['x-spendgate-model']).toBeUndefined();
  });

  it('sends the provider key in place of the client’s Spendgate key, and no x-spendgate-* header', async () => {
    const before = upstream.received.length;

    const openai = await post(`${base}/openai/v1/chat/completions`, chat, {
      ...hints('ignored', 10),
      authorization: `Bearer ${clientKey}`,
      'x-spendgate-fingerprint': 'f00d',
    });
    const anthropic = await post(
      `${base}/anthropic/v1/messages`,
      { model: 'claude-flat', max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] },
      {
        'x-api-key': clientKey,
        'anthropic-version': '2023-06-01',
        'x-spendgate-model': 'claude-flat',
        'x-spendgate-max-output-tokens': '5',
        'x-spendgate-fingerprint': 'beef',
      },
    );

    expect([openai.status, anthropic.status]).toEqual([200, 200]);
    const [toOpenai, toAnthropic] = upstream.received.slice(before);
    expect(upstream.received.length).toBe(before + 2);
    expect(toOpenai?.headers.authorization).toBe(`Bearer ${PROVIDER_KEYS.openai}`);
    expect(toOpenai?.headers['x-api-key']).toBeUndefined();
    expect(toAnthropic?.headers['x-api-key']).toBe(PROVIDER_KEYS.anthropic);
    expect(toAnthropic?.headers.authorization).toBeUndefined();
    expect(toAnthropic?.headers['anthropic-version']).toBe('2023-06-01');
    for (const forwarded of [toOpenai, toAnthropic]) {
      const names = Object.keys(forwarded?.headers ?? {});
      expect(names.filter((n) => n.startsWith('x-spendgate-'))).toEqual([]);
      expect(JSON.stringify(forwarded?.headers)).not.toContain(clientKey);
    }
    // The decision saw the Spendgate key: the rows are the key's org, not the header's.
    const rows = [];
    for (const [answer, model] of [
      [openai, 'flat-model'],
      [anthropic, 'claude-flat'],
    ] as const) {
      const id = answer.headers.get('x-spendgate-request-id');
      const usage = (JSON.parse(answer.text) as { usage: unknown }).usage;
      expect((await reportUsage(gateway.url, { request_id: id, model, usage })).status).toBe(200);
      rows.push(await rowOf(gateway, id));
    }
    expect(rows.map((r) => r.org)).toEqual(['keyed', 'keyed']);
  });

  it('records the row at its reported usage, priced exactly', async () => {
    const answer = await post(`${base}/openai/v1/chat/completions`, chat, hints('reported', 60));
    const id = answer.headers.get('x-spendgate-request-id');

    const reported = await reportUsage(gateway.url, {
      request_id: id,
      model: 'flat-model',
      usage: (JSON.parse(answer.text) as { usage: unknown }).usage,
    });

    const row = await rowOf(gateway, id);
    expect(reported.status).toBe(200);
    expect(costUsd(row)).toBe('0.3');
    expect(row).toMatchObject({ org: 'reported', outputTokens: 30, usageSource: 'provider' });
    const budget = (await budgetsOf(gateway.url)).data.find((b) => b.scope.org === 'reported');
    expect(budget).toMatchObject({ spent_usd: 0.3, reserved_usd: 0 });
  });

  it('answers a refused request with 429, Retry-After, the reason and an OpenAI body', async () => {
    const before = upstream.received.length;

    const answer = await post(`${base}/openai/v1/chat/completions`, chat, hints('refused', 150));

    expect(answer.status).toBe(429);
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(answer.headers.get('x-should-retry')).toBe('false');
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.headers.get('x-spendgate-status')).toBeNull();
    expect(answer.headers.get('x-spendgate-error-body')).toBeNull();
    expect(JSON.parse(answer.text)).toEqual({
      error: {
        // 150 output tokens at $0.01 each reserve $1.50, more than the whole $1 limit.
        message:
          'budget "org-daily" for org "refused": this request\'s worst case (1.5 USD: 9 prompt ' +
          'tokens + up to 150 output tokens) is more than the whole limit of 1 USD, so it can ' +
          'never pass; set max_tokens lower',
        type: 'budget_exceeded',
        code: 'budget_exceeded',
      },
    });
    expect(upstream.received.length).toBe(before);
    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({ decision: 'reject', reason: 'budget_exceeded', status: 429 });
  });

  it('answers a refused Anthropic request with an Anthropic body', async () => {
    const answer = await post(
      `${base}/anthropic/v1/messages`,
      { model: 'claude-flat', max_tokens: 500, messages: [{ role: 'user', content: 'Hi' }] },
      {
        'x-org-id': 'refused-anthropic',
        'x-spendgate-model': 'claude-flat',
        'x-spendgate-max-output-tokens': '500',
      },
    );

    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).not.toBeNull();
    expect(JSON.parse(answer.text)).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error' },
    });
  });

  it('answers a path that names no upstream with 404 unknown_upstream', async () => {
    const answer = await post(`${base}/nowhere/v1/chat/completions`, chat, hints('lost', 1));

    expect(answer.status).toBe(404);
    expect(answer.headers.get('x-spendgate-reason')).toBe('unknown_upstream');
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'unknown_upstream' } });
  });

  it('fails closed with 503 when the decision service cannot be reached', async () => {
    await gateway.close();
    gatewayClosed = true;

    const answer = await post(`${base}/openai/v1/chat/completions`, chat, hints('down', 1));

    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'store_unavailable' } });
  });
});
