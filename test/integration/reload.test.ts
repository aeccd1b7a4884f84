import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchConfig } from '../../src/cli/commands/reload.js';
import { loadConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { startGateway, type TestGateway, openAiGatewayYaml } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

let upstream: MockUpstream;
let gateway: TestGateway;
const yaml = (limit: number) => `
${openAiGatewayYaml(upstream.url)}budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: ${limit}, period: 1d }
`;

const send = () =>
  fetch(`${gateway.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-org-id': 'acme' },
    body: JSON.stringify({
      model: 'gpt-4o',
      max_tokens: 1,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: {
      choices: [],
      usage: { prompt_tokens: 100000, completion_tokens: 0, total_tokens: 100000 },
    },
  });
  gateway = await startGateway(yaml(1));
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('config reload', () => {
  it('takes a new limit and keeps the spend of the period', async () => {
    expect((await send()).status).toBe(200); // $0.25 of $1

    const result = await gateway.reload(
      loadConfigText(yaml(2), join(gateway.dir, 'spendgate.yaml'), {}),
    );
    const budgets = gateway.deps.enforcer;
    const view = await budgets.budgetsView(Date.now());

    expect(result).toEqual({ ok: true, problem: null });
    expect(view.map((b) => [b.name, b.spent_usd, b.limit_usd])).toEqual([['org-daily', 0.25, 2]]);
  });

  it('lists only the instances of a budget whose scope a reload changed', async () => {
    // acme has spent under `org: "*"`; the budget now names one other org.
    const scoped = yaml(2).replace('scope: { org: "*" }', 'scope: { org: beta }');
    const result = await gateway.reload(
      loadConfigText(scoped, join(gateway.dir, 'spendgate.yaml'), {}),
    );
    const view = await gateway.deps.enforcer.budgetsView(Date.now());
    await gateway.reload(loadConfigText(yaml(2), join(gateway.dir, 'spendgate.yaml'), {}));

    expect(result).toEqual({ ok: true, problem: null });
    expect(view).toEqual([]);
  });

  it('refuses a broken file on change, logs every problem, and keeps serving', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }),
    });
    const file = join(gateway.dir, 'spendgate.yaml');
    const unwatch = watchConfig(file, gateway, logger);
    const version = gateway.deps.config.version;

    writeFileSync(file, 'upstreams:\n  openai: { format: nope }\n');
    await new Promise((r) => setTimeout(r, 800));
    unwatch();

    const failed = lines
      .map((l) => JSON.parse(l) as { event: string; problems?: { path: string }[] })
      .find((l) => l.event === 'config.reload_failed');
    expect(failed?.problems?.map((p) => p.path)).toContain('upstreams.openai.format (line 2)');
    expect(gateway.deps.config.version).toBe(version);
    expect((await send()).status).toBe(200);
  });

  it('leaves a request in flight on the config it started with', async () => {
    upstream.reply('/slow/chat/completions', {
      kind: 'json',
      delayMs: 400,
      body: {
        choices: [],
        usage: { prompt_tokens: 100000, completion_tokens: 0, total_tokens: 100000 },
      },
    });
    const inFlight = fetch(`${gateway.url}/openai/slow/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-org-id': 'acme' },
      body: JSON.stringify({
        model: 'gpt-4o',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    await new Promise((r) => setTimeout(r, 100));

    // The price doubles while the request waits for its answer.
    const doubled = yaml(2).replace('input_per_mtok: 2.50', 'input_per_mtok: 5.00');
    expect(
      (await gateway.reload(loadConfigText(doubled, join(gateway.dir, 'y.yaml'), {}))).ok,
    ).toBe(true);
    const res = await inFlight;

    expect(res.status).toBe(200);
    expect(res.headers.get('x-spendgate-cost-usd')).toBe('0.25');
    // A request that arrives after the reload is priced at the new rate.
    expect((await send()).headers.get('x-spendgate-cost-usd')).toBe('0.5');
  });

  it('logs config.unchanged on SIGHUP when the file has not changed', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }),
    });
    const file = join(gateway.dir, 'spendgate.yaml');
    writeFileSync(file, yaml(1));
    const unchanged = loadConfigText(yaml(1), file, {});
    await gateway.reload(unchanged);
    const unwatch = watchConfig(file, gateway, logger);

    process.emit('SIGHUP', 'SIGHUP');
    await new Promise((r) => setTimeout(r, 200));
    unwatch();

    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.map((l) => [l.level, l.event, l.trigger, l.config_version, l.msg])).toEqual([
      [
        'info',
        'config.unchanged',
        'SIGHUP',
        unchanged.version,
        'config file unchanged; nothing to reload',
      ],
    ]);
  });

  it('names every change that needs a restart, storage and listen together', async () => {
    const next = loadConfigText(
      yaml(2) + 'storage: { ledger: "sqlite::memory:" }\nlisten: { port: 1 }\n',
      join(gateway.dir, 'x.yaml'),
      {},
    );

    expect(await gateway.reload(next)).toEqual({
      ok: false,
      problem: 'storage changes need a restart; listen address changes need a restart',
    });
  });

  it('refuses a storage change, which needs a restart', async () => {
    const next = loadConfigText(
      yaml(2) + 'storage: { ledger: "sqlite::memory:" }\n',
      join(gateway.dir, 'x.yaml'),
      {},
    );

    expect(await gateway.reload(next)).toEqual({
      ok: false,
      problem: 'storage changes need a restart',
    });
  });
});

/** An upstream that answers after 300 ms and keeps idle connections open for a minute. */
async function keepAliveUpstream() {
  const open = new Set<Socket>();
  const server = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(chatCompletion('gpt-4o', 'OK', chatUsage(10, 1))));
    }, 300);
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('config reload: an upstream origin the new config no longer uses', () => {
  it('closes its connections once the request in flight on it is answered', async () => {
    const before = await keepAliveUpstream();
    const after = await startMockUpstream();
    const config = openAiGatewayYaml;
    const gw = await startGateway(config(before.url));
    try {
      const inFlight = fetch(`${gw.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await new Promise((r) => setTimeout(r, 100));
      expect(before.open.size).toBe(1);

      const result = await gw.reload(loadConfigText(config(after.url), join(gw.dir, 'y.yaml'), {}));
      const res = await inFlight;
      for (let i = 0; i < 40 && before.open.size > 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }

      expect(result).toEqual({ ok: true, problem: null });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { choices: unknown[] }).choices).toHaveLength(1);
      expect(before.open.size).toBe(0);
    } finally {
      await gw.close();
      await before.close();
      await after.close();
    }
  });

  it('still forwards a request admitted before the reload to the origin it was admitted for', async () => {
    const before = await keepAliveUpstream();
    const after = await startMockUpstream();
    const config = (url: string) => `${openAiGatewayYaml(url)}budgets:
  - name: slow-down
    scope: { org: "*" }
    limit_usd: 1
    period: 1d
    actions: [{ at: 1, do: throttle, delay_ms: [500, 500] }, { at: 100, do: reject }]
`;
    const gw = await startGateway(config(before.url));
    try {
      const send = (maxTokens: number) =>
        fetch(`${gw.url}/openai/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'gpt-4o',
            max_tokens: maxTokens,
            messages: [{ role: 'user', content: 'hi' }],
          }),
        });
      // The old origin's pool is in use before the reload.
      expect((await send(1)).status).toBe(200);
      // $0.04 of $1 reserved: throttled for 500 ms, then forwarded after the reload.
      const throttled = send(4000);
      await new Promise((r) => setTimeout(r, 100));
      await gw.reload(loadConfigText(config(after.url), join(gw.dir, 'y.yaml'), {}));
      const res = await throttled;

      expect(res.status).toBe(200);
      expect(res.headers.get('x-spendgate-cost-usd')).toBe('0.000035');
      expect(after.received).toHaveLength(0);
    } finally {
      await gw.close();
      await before.close();
      await after.close();
    }
  });
});
