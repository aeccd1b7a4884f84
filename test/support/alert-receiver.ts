import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One webhook delivery as the receiver got it, with its signature check. */
export type ReceivedAlert = {
  headers: IncomingHttpHeaders;
  raw: string;
  json: Record<string, unknown>;
  /** Whether the signature and timestamp passed the check that docs/alerts.md describes. */
  verified: boolean;
  /** What the test's `mark()` returned when the delivery arrived (e.g. requests sent so far). */
  mark: number;
};

/** A local webhook endpoint recording every alert; `url` ends in `/hook`. */
export type AlertReceiver = { url: string; received: ReceivedAlert[]; close(): Promise<void> };

/**
 * Checks `x-spendgate-signature` over the raw body bytes in constant time and refuses
 * timestamps more than five minutes from `nowSec`, as docs/alerts.md tells receivers to.
 */
export function verifySignature(
  secret: string,
  headers: IncomingHttpHeaders,
  raw: string,
  nowSec: number,
): boolean {
  const ts = headers['x-spendgate-timestamp'];
  if (typeof ts !== 'string' || !/^\d+$/.test(ts) || Math.abs(nowSec - Number(ts)) > 300) {
    return false;
  }
  const given = Buffer.from(String(headers['x-spendgate-signature'] ?? ''));
  const mac = createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex');
  const wanted = Buffer.from(`v1=${mac}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/**
 * Starts a webhook receiver on 127.0.0.1; `nowSec` is the clock the gateway signs with (a fake
 * clock in the stories), `mark` tags each arrival so a test can order it against its requests.
 */
export async function startAlertReceiver(
  secret: string,
  nowSec: () => number,
  mark: () => number = () => 0,
): Promise<AlertReceiver> {
  const received: ReceivedAlert[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({
        headers: req.headers,
        raw,
        json: JSON.parse(raw) as Record<string, unknown>,
        verified: verifySignature(secret, req.headers, raw, nowSec()),
        mark: mark(),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
