/** A value written into JSON text as is: used for exact decimal costs (`0.0000001`, not `1e-7`). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON.stringify that writes {@link RawJson} values verbatim and bigints as integers. */
export function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  const parts: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${toJson(child)}`);
  }
  return `{${parts.join(',')}}`;
}
