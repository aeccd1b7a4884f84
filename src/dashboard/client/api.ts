import { parseApiJson } from './money.js';

/** The gateway answered 401: the token is wrong, or was removed from the config. */
export class TokenRefused extends Error {
  constructor() {
    super('token refused');
  }
}

/** Any other failed admin call, with the gateway's own message when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Calls the admin API under /api/v1 with one bearer token. */
export class AdminApi {
  constructor(private readonly token: string) {}

  /** GET `path` (below /api/v1) with these parameters; the parsed JSON, money as pico bigints. */
  async get<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined && value !== '') query.set(name, String(value));
    }
    const text = query.toString();
    const search = text === '' ? '' : `?${text}`;
    const res = await fetch(`/api/v1${path}${search}`, {
      headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
    const body = await res.text();
    if (res.status === 401) throw new TokenRefused();
    if (!res.ok) throw new ApiError(res.status, errorMessage(body) ?? `HTTP ${res.status}`);
    return parseApiJson(body) as T;
  }
}

function errorMessage(text: string): string | null {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } };
    return typeof body.error?.message === 'string' ? body.error.message : null;
  } catch {
    return null;
  }
}
