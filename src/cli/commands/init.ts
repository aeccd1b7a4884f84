import { existsSync, writeFileSync } from 'node:fs';

/** The commented starter config `spendgate init` writes. It validates as is. */
export const STARTER_CONFIG = `# Spendgate configuration. Every field and its default: docs/config-reference.md
# Secrets never go in this file: fields ending in _env name an environment variable.

listen: { host: 127.0.0.1, port: 8080, max_body_mb: 32 }

admin:
  tokens:
    # export SPENDGATE_ADMIN_TOKEN=... to use the admin API (GET /api/v1/requests)
    - { name: admin, token_env: SPENDGATE_ADMIN_TOKEN }

storage:
  ledger: sqlite:./spendgate.db        # one row per request, relative to this file

upstreams:                             # clients call http://127.0.0.1:8080/<name>/...
  openai:    { format: openai,    base_url: https://api.openai.com,    api_key_env: OPENAI_API_KEY }
  anthropic: { format: anthropic, base_url: https://api.anthropic.com, api_key_env: ANTHROPIC_API_KEY }

identity:
  # While the gateway holds provider keys, clients must present a Spendgate key
  # (spendgate keys create --org acme --team search) or a signed JWT.
  require_credential: true
  api_keys: { file: ./keys.yaml }

attribution:                           # first source present wins
  org:      [key:org, header:x-org-id, unattributed]
  team:     [key:team, header:x-team-id, unattributed]
  user:     [key:user, header:x-user-id, unattributed]
  endpoint: [header:x-endpoint, path]

pricing:
  models: {}                           # e.g. my-llama-70b: { input_per_mtok: 0.60, output_per_mtok: 0.80 }
  # unknown_model: { input_per_mtok: 10, output_per_mtok: 30 }   # or: reject
`;

/**
 * Writes the starter config. An existing file is kept (use --force to replace it), and that is
 * not a failure, so `spendgate init && spendgate serve` can be run again on the same machine.
 */
export function runInit(
  file: string,
  opts: { force: boolean; out: (line: string) => void },
): number {
  if (existsSync(file) && !opts.force) {
    opts.out(`${file} exists; keeping it (use --force to replace it with the starter config)`);
    return 0;
  }
  writeFileSync(file, STARTER_CONFIG);
  opts.out(
    `wrote ${file}; next: export OPENAI_API_KEY=..., spendgate keys create --org <org>, spendgate serve`,
  );
  return 0;
}
