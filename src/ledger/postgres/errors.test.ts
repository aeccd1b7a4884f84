import { describe, expect, it } from 'vitest';
import { asMisconfigured, ledgerAddress, LedgerMisconfigured } from './errors.js';

/** An error as `pg` raises it for a server refusal: the server's message and its SQLSTATE. */
function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const AT = ledgerAddress('postgres://sg:s3cret-pass@db.internal:6543/spend_prod?sslmode=require');

describe('postgres ledger: a database that cannot be used as configured', () => {
  it('reads host, port, user and database from the URL, never the password', () => {
    expect(AT).toEqual({ hostPort: 'db.internal:6543', user: 'sg', database: 'spend_prod' });
    expect(ledgerAddress('postgresql://127.0.0.1/x')).toEqual({
      hostPort: '127.0.0.1:5432',
      user: null,
      database: 'x',
    });
  });

  it('says a missing database does not exist, where, and what to do', () => {
    const err = asMisconfigured(pgError('3D000', 'database "spend_prod" does not exist'), AT);

    expect(err).toBeInstanceOf(LedgerMisconfigured);
    expect(err?.message).toBe(
      'storage.ledger: PostgreSQL database "spend_prod" does not exist on db.internal:6543 ' +
        '(create it, or fix the URL)',
    );
  });

  it('says a password or a user was refused', () => {
    const password = asMisconfigured(
      pgError('28P01', 'password authentication failed for user "sg"'),
      AT,
    );
    const role = asMisconfigured(pgError('28000', 'role "sg" does not exist'), AT);

    expect(password?.message).toBe(
      'storage.ledger: PostgreSQL on db.internal:6543 refused the password of user "sg" ' +
        '(fix the password in the URL)',
    );
    expect(role?.message).toBe(
      'storage.ledger: PostgreSQL on db.internal:6543 refused user "sg": role "sg" does not exist',
    );
    expect(`${password?.message}${role?.message}`).not.toContain('s3cret');
  });

  it('leaves outages and statement errors alone', () => {
    expect(asMisconfigured(pgError('ECONNREFUSED', 'connect ECONNREFUSED'), AT)).toBeNull();
    expect(asMisconfigured(pgError('23505', 'duplicate key'), AT)).toBeNull();
    expect(asMisconfigured('not an error', AT)).toBeNull();
  });
});
