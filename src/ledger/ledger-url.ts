/** The ledger URLs `storage.ledger` takes: `sqlite:<path>`, `postgres://…`, `postgresql://…`. */
const LEDGER_URL = /^(sqlite:.|postgres(ql)?:\/\/)/;

/**
 * Why `storage.ledger` names no ledger, or null when it names one. Only the scheme is quoted
 * back: the rest of a mistyped database URL may hold a password.
 */
export function ledgerUrlProblem(spec: string): string | null {
  if (LEDGER_URL.test(spec)) return null;
  return `"${spec.split(':')[0]}:…" is not a ledger URL (write sqlite:./spendgate.db or postgres://user@host:5432/db)`;
}
