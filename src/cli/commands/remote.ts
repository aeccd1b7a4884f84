import { request } from 'undici';

/** Where a running gateway is and how to authenticate to its admin API. */
export type Remote = { url: string; token: string | undefined };

/** GETs an admin API path of a running gateway; throws a readable error on failure. */
export async function getJson(remote: Remote, path: string): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (remote.token) headers.authorization = `Bearer ${remote.token}`;
  let res;
  try {
    res = await request(`${remote.url}${path}`, {
      headers,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
  } catch (err) {
    throw new Error(`cannot reach the gateway at ${remote.url}: ${(err as Error).message}`);
  }
  const text = await res.body.text();
  if (res.statusCode >= 300) {
    const message = (() => {
      try {
        return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
      } catch {
        return text;
      }
    })();
    throw new Error(`${path}: ${res.statusCode} ${message}`);
  }
  return JSON.parse(text) as unknown;
}
