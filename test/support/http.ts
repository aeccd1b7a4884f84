/** What a plain HTTP client got back: status, headers and the whole body as text. */
export type Answer = { status: number; headers: Headers; text: string };

/** POSTs `body` exactly as given (a string is sent byte for byte) and reads the whole answer. */
export async function post(
  url: string,
  body: string | object,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The chat request body the cases use: one user message, plus any extra fields. */
export function chatBody(model: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hi' }], ...extra });
}
