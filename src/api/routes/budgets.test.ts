import { describe, expect, it } from 'vitest';
import type { BudgetView } from '../../engine/engine.js';
import { listBudgets } from './budgets.js';
import { callAdminRoute } from '../../../test/support/admin-call.js';

function view(
  name: string,
  scope: Record<string, string>,
  spent: number,
  limit: number,
  reserved = 0,
): BudgetView {
  return {
    name,
    scope,
    mode: 'enforce',
    spent_usd: spent,
    reserved_usd: reserved,
    limit_usd: limit,
    utilization: (spent + reserved) / limit,
    stage: 'ok',
    resets_at: '2026-03-02T00:00:00.000Z',
    projected_exhaustion: null,
    last_rejection_at: null,
  };
}

// In the engine's order (utilization, then name), which is not the API's whole order.
const VIEW: BudgetView[] = [
  view('org-daily', { org: 'globex' }, 9, 10), // 90%
  view('team-daily', { team: 'Search' }, 18, 20), // 90%, but more spent
  view('org-daily', { org: 'acme' }, 5, 10), // 50%
  view('org-daily', { org: 'initech' }, 1, 10, 4), // 50%, mostly reserved: the least spent
  view('org-weekly', { org: 'acme' }, 25, 50), // 50%, the most spent of the 50% ones
  view('org-daily', { org: 'acme-labs' }, 5, 10), // 50%, ties acme up to the scope
  view('org-daily', { org: 'umbrella' }, 0.0000001, 10),
];

type Answer = { status: number; body: { data?: BudgetView[]; total?: number; error?: unknown } };

const DEPS = { clock: { now: () => 0 }, enforcer: { budgetsView: async () => VIEW } };

const call = (query: string, scope: Record<string, string> | null = null) =>
  callAdminRoute<Answer['body']>(listBudgets, DEPS, `/budgets?${query}`, scope);

const ids = (body: Answer['body']) =>
  (body.data ?? []).map((b) => `${b.name} ${Object.values(b.scope).join(',')}`);

describe('GET /budgets: order', () => {
  it('lists every instance, most used first, then most spent, name and scope', async () => {
    const { status, body } = await call('');

    expect(status).toBe(200);
    expect(ids(body)).toEqual([
      'team-daily Search',
      'org-daily globex',
      'org-weekly acme',
      'org-daily acme',
      'org-daily acme-labs',
      'org-daily initech',
      'org-daily umbrella',
    ]);
    expect(body).not.toHaveProperty('total');
  });

  it('writes amounts as plain decimals', async () => {
    const { body } = await call('q=umbrella');

    expect(body.data?.[0]).toMatchObject({ spent_usd: 1e-7, limit_usd: 10, utilization: 1e-8 });
  });
});

describe('GET /budgets: limit and q', () => {
  it('keeps the most used instances and says how many there were', async () => {
    const { status, body } = await call('limit=3');

    expect(status).toBe(200);
    expect(ids(body)).toEqual(['team-daily Search', 'org-daily globex', 'org-weekly acme']);
    expect(body.total).toBe(7);
  });

  it('matches the text in the name or a scope value, in any case, before the limit', async () => {
    const byScope = await call('q=ACME&limit=2');
    const byName = await call('q=Weekly');
    const byTeam = await call('q=search');

    expect(ids(byScope.body)).toEqual(['org-weekly acme', 'org-daily acme']);
    expect(byScope.body.total).toBe(3);
    expect(ids(byName.body)).toEqual(['org-weekly acme']);
    expect(byName.body.total).toBe(1);
    expect(ids(byTeam.body)).toEqual(['team-daily Search']);
  });

  it('answers an empty list and a total of 0 when nothing matches', async () => {
    const { status, body } = await call('q=nobody');

    expect(status).toBe(200);
    expect(body).toEqual({ data: [], total: 0 });
  });

  it('treats an empty q as no search', async () => {
    const { body } = await call('q=');

    expect(ids(body)).toHaveLength(7);
    expect(body).not.toHaveProperty('total');
  });

  it.each(['0', '1001', '2.5', 'ten', '-1', ''])('refuses limit=%s with a 400', async (limit) => {
    const { status, body } = await call(`limit=${limit}`);

    expect(status).toBe(400);
    expect(body.error).toEqual({
      message: 'limit must be a whole number from 1 to 1000',
      type: 'invalid_request',
      code: 'invalid_request',
    });
  });

  it('keeps a scoped token to its scope, in the list and in the total', async () => {
    const all = await call('limit=1', { org: 'acme' });
    const other = await call('q=globex', { org: 'acme' });

    expect(ids(all.body)).toEqual(['org-weekly acme']);
    expect(all.body.total).toBe(2);
    expect(other.body).toEqual({ data: [], total: 0 });
  });
});
