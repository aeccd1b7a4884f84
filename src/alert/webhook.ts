/**
 * The generic webhook: the `spendgate.alert.v1` JSON body, signed so the receiver can tell it
 * came from us and was not replayed: HMAC-SHA256 over `<unix seconds>.<body>`.
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../clock.js';
import { alertPayload } from './alert.js';
import { dashboardLink } from './format.js';
import type { AlertTransport, DeliverableAlert } from './transport.js';
import { DEFAULT_SEND_TIMEOUT_MS, postBody } from './transport.js';

/** Header carrying the unix-seconds timestamp the signature covers. */
export const TIMESTAMP_HEADER = 'x-spendgate-timestamp';
/** Header carrying `v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'x-spendgate-signature';
/** Header carrying the alert id, the same on every retry. */
export const ALERT_ID_HEADER = 'x-spendgate-alert-id';

/** The signature header value for a body sent at `timestampSec`. */
export function signWebhook(secret: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex');
  return `v1=${mac}`;
}

/** A transport posting signed alert JSON to one URL. */
export function createWebhookTransport(opts: {
  name: string;
  url: string;
  secret: string | undefined;
  headers?: Record<string, string>;
  dashboardUrl?: string | undefined;
  clock: Clock;
  timeoutMs?: number;
}): AlertTransport {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  // Lower-cased and set first, so a configured header cannot shadow the signature or content type.
  const baseHeaders: Record<string, string> = {};
  for (const [key, value] of Object.entries(opts.headers ?? {})) {
    baseHeaders[key.toLowerCase()] = value;
  }
  baseHeaders['content-type'] = 'application/json';

  return {
    send: (alert: DeliverableAlert) => {
      const link = dashboardLink(opts.dashboardUrl, alert.scope);
      const body = JSON.stringify(alertPayload(alert, opts.name, link));
      // Signed per attempt: a retry an hour later carries a fresh timestamp, not a stale one.
      const timestampSec = Math.floor(opts.clock.now() / 1000);
      const headers: Record<string, string> = {
        ...baseHeaders,
        [TIMESTAMP_HEADER]: String(timestampSec),
        [ALERT_ID_HEADER]: alert.id,
      };
      if (opts.secret !== undefined) {
        headers[SIGNATURE_HEADER] = signWebhook(opts.secret, timestampSec, body);
      }
      return postBody(opts.url, body, headers, timeoutMs);
    },
  };
}
