import { getJson, type Remote } from './remote.js';

type Event = { id: string; timestamp: string; type: string; message: string; actor: string | null };

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
      opts.out(
        `${e.timestamp}  ${e.type.padEnd(20)} ${e.message}${e.actor ? ` (by ${e.actor})` : ''}`,
      );
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
