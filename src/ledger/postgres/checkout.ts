import type pg from 'pg';

/**
 * A client taken from the pool for a transaction. `pg` emits a connection lost while a client
 * is checked out (a server restart, `pg_terminate_backend`, a failover) as an `error` event on
 * it, besides rejecting the query in flight; with no listener that event would end the whole
 * gateway. The listener only swallows the event: the caller sees the error through its query
 * and releases the client with it, so the pool drops the connection.
 */
export async function checkOut(
  pool: pg.Pool,
): Promise<pg.PoolClient & { done(err?: Error): void }> {
  const client = await pool.connect();
  const ignore = (): void => undefined;
  client.on('error', ignore);
  return Object.assign(client, {
    done(err?: Error): void {
      client.off('error', ignore);
      client.release(err);
    },
  });
}
