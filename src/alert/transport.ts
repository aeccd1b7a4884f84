/**
 * The interface every channel implements, and the one HTTP post Slack and webhooks share. Errors
 * thrown here carry only a status or an error code: a Slack webhook URL is itself a secret, and an
 * undici or socket message could quote it.
 */
import { request } from 'undici';
import type { Alert } from './alert.js';

/** An alert with its id assigned, as the dispatcher hands it to a transport. */
export type DeliverableAlert = Alert & { id: string };

/** One channel: `send` resolves once the receiver accepted the alert and throws otherwise. */
export interface AlertTransport {
  send(alert: DeliverableAlert): Promise<void>;
  close?(): void;
}

/** A delivery that failed; its message is safe to log. */
export class AlertDeliveryError extends Error {
  /** The HTTP status, when the receiver answered. */
  readonly status: number | undefined;

  constructor(message: string, status?: number) {
    super(message);
    this.name = 'AlertDeliveryError';
    this.status = status;
  }
}

/** Per-attempt limit for a receiver to answer. @default 10s */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;

/** Posts a body and throws `AlertDeliveryError` unless the answer is 2xx within the timeout. */
export async function postBody(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<void> {
  let status: number;
  try {
    const response = await request(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.statusCode;
    // The body must be read or the connection is not returned to the pool.
    await response.body.dump();
  } catch (err) {
    throw new AlertDeliveryError(`request failed: ${errorCode(err)}`);
  }

  if (status >= 300) throw new AlertDeliveryError(`HTTP ${status}`, status);
}

/** A short, secret-free name for an error: its `code`, else its class name. */
export function errorCode(err: unknown): string {
  if (err instanceof AlertDeliveryError) return err.message;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? code : err.name;
  }
  return 'unknown error';
}
