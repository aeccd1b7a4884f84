import { getJson, type Remote } from './remote.js';

type Event = {
  id: string;
  timestamp: string;
  type: string;
  message: string;
  scope?: Record<string, string>;
  data?: Record<string, unknown>;
  actor: string | null;
};

/**
 * One event as a terminal line: its message, then what the message leaves out: the tenant it
 * is about (a warning's text names only the budget), a kill switch's reason and expiry, and
 * the admin who acted, unless the message already says so.
 */
export function formatEvent(e: Event): string {
  const tenant = Object.entries(e.scope ?? {})
    .filter(([k, v]) => !e.message.includes(`${k}=${v}`) && !e.message.includes(`${k} "${v}"`))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const details: string[] = [];
  if (e.type.startsWith('kill_switch_')) {
    if (typeof e.data?.reason === 'string' && e.data.reason !== '') {
      details.push(`reason: ${e.data.reason}`);
    }
    if (typeof e.data?.expires_at === 'string') details.push(`until ${e.data.expires_at}`);
  }
  const by = e.actor && !e.message.includes(`by ${e.actor}`) ? ` (by ${e.actor})` : '';
  return (
    `${e.timestamp}  ${e.type.padEnd(20)} ${e.message}${tenant ? ` [${tenant}]` : ''}` +
    `${details.map((d) => `; ${d}`).join('')}${by}`
  );
}

/**
 * `spendgate events [--follow]`: the latest events, oldest first; with `--follow`, new ones as
 * they happen (the admin API is polled every `intervalMs`) until `signal` aborts.
 */
export async function runEvents(
  remote: Remote,
  opts: {
    follow: boolean;
    type?: string;
    intervalMs?: number;
    signal?: AbortSignal;
    out: (line: string) => void;
  },
): Promise<number> {
  const seen = new Set<string>();
  let since: string | undefined;
  const print = (events: Event[]): void => {
    for (const e of events.reverse()) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      since = e.timestamp;
      opts.out(formatEvent(e));
    }
  };
  const query = (): string => {
    const params = new URLSearchParams({ limit: '100' });
    if (opts.type) params.set('type', opts.type);
    if (since) params.set('since', since);
    return `/api/v1/events?${params}`;
  };

  print(((await getJson(remote, query())) as { data: Event[] }).data);
  while (opts.follow && !opts.signal?.aborted) {
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 2_000));
    if (opts.signal?.aborted) break;
    print(((await getJson(remote, query())) as { data: Event[] }).data);
  }
  return 0;
}
