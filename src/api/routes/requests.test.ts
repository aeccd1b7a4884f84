import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteLedger, type SqliteLedger } from '../../ledger/sqlite.js';
import { silentLogger } from '../../log/logger.js';
import { callAdminRoute } from '../../../test/support/admin-call.js';
import { ledgerRow } from '../../../test/support/rows.js';
import { listRequests } from './requests.js';

let ledger: SqliteLedger;

beforeAll(async () => {
  ledger = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
  for (let i = 1; i <= 5; i++) ledger.append(ledgerRow(`r${i}`, 1_000 * i));
  await ledger.flush();
});

afterAll(async () => {
  await ledger.close();
});

type Page = {
  data?: { request_id: string }[];
  next_cursor?: string | null;
  error?: { code: string; message: string };
};

const call = (query: string) =>
  callAdminRoute<Page>(listRequests, { ledger }, `/requests?${query}`);

describe('GET /requests: pages', () => {
  it('walks the rows newest first with the cursor it gives out', async () => {
    const first = await call('limit=2');
    const second = await call(`limit=2&cursor=${first.body.next_cursor}`);
    const last = await call(`limit=2&cursor=${second.body.next_cursor}`);

    expect([first, second, last].map((p) => p.body.data?.map((r) => r.request_id))).toEqual([
      ['r5', 'r4'],
      ['r3', 'r2'],
      ['r1'],
    ]);
    expect(last.body.next_cursor).toBeNull();
  });

  it('refuses a cursor it did not give out with 400, instead of starting over', async () => {
    const { body } = await call('limit=2');
    const cursor = String(body.next_cursor);

    for (const bad of ['garbage', `${cursor}x`, `${cursor}==`, 'MTIz']) {
      const answer = await call(`cursor=${encodeURIComponent(bad)}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual({
        message:
          'cursor is not one this API gave out: pass next_cursor from the previous page as it is',
        type: 'invalid_request',
        code: 'invalid_request',
      });
    }
  });
});
