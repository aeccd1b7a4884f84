/**
 * Starts the gateway from `src/` exactly as `spendgate serve` does (same `main`), for a bench
 * run before `dist/` is built: `node --import tsx bench/lib/gateway-entry.ts serve --config F`.
 */
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
