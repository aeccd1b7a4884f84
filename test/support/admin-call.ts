import type { ServerResponse } from 'node:http';
import type { AdminCall } from '../../src/api/http.js';
import type { AdminToken } from '../../src/config/prepare.js';

/** An admin route handler, as the admin router calls it. */
type Route = (call: AdminCall) => Promise<void>;

/**
 * Calls one admin route in-process, without a server, with the parts of the gateway it reads
 * (`deps`, such as `{ ledger }`); the token has `scope` (null: sees everything). Answers the
 * status and the parsed JSON body.
 */
export async function callAdminRoute<Body = Record<string, unknown>>(
  route: Route,
  deps: object,
  pathAndQuery: string,
  scope: Record<string, string> | null = null,
): Promise<{ status: number; body: Body; text: string }> {
  const answer = { status: 0, text: '' };
  const res = {
    writeHead(status: number) {
      answer.status = status;
    },
    end(text: string) {
      answer.text = text;
    },
  } as unknown as ServerResponse;
  const token: AdminToken = { name: 'test', token: 'x', scope };
  const url = new URL(`http://127.0.0.1/api/v1${pathAndQuery}`);
  await route({ deps, res, url, token } as unknown as AdminCall);
  return { status: answer.status, body: JSON.parse(answer.text) as Body, text: answer.text };
}
