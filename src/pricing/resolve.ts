/**
 * Model-name resolution: the pure string rules that turn what a client sent into the names a
 * price table is keyed by. The pricer tries them in order; nothing here knows any prices.
 */

/** The parts of a fine-tuned model name. */
export type FineTune = { base: string; org: string; suffix: string; id: string };

/**
 * Splits a fine-tune name. OpenAI writes `ft:<base>:<org>:<suffix>:<id>`, where the suffix may
 * be empty (`ft:gpt-4o-mini-2024-07-18:acme::9xYz`), so the parts are taken by position, never
 * by a pattern that needs each one filled in. Azure writes `<base>.ft-<id>`.
 */
export function parseFineTune(name: string): FineTune | null {
  if (name.startsWith('ft:')) {
    const parts = name.split(':');
    const base = parts[1] ?? '';
    if (base === '') return null;
    const org = parts[2] ?? '';
    if (parts.length >= 5) {
      return { base, org, suffix: parts.slice(3, -1).join(':'), id: parts[parts.length - 1] ?? '' };
    }
    return { base, org, suffix: '', id: parts[3] ?? '' };
  }

  const azure = name.indexOf('.ft-');
  if (azure > 0) {
    return { base: name.slice(0, azure), org: '', suffix: '', id: name.slice(azure + 4) };
  }
  return null;
}

// Bedrock model ids: an optional cross-region inference prefix, the vendor, the model, and a
// version tail (`us.anthropic.claude-3-5-sonnet-20241022-v2:0`).
const BEDROCK_REGIONS = ['us', 'eu', 'apac', 'ap', 'global', 'us-gov', 'jp', 'au', 'ca'];
const BEDROCK_VENDORS = [
  'anthropic',
  'meta',
  'amazon',
  'mistral',
  'cohere',
  'ai21',
  'deepseek',
  'openai',
  'qwen',
  'writer',
];
const BEDROCK_ID = new RegExp(
  `^(?:(?:${BEDROCK_REGIONS.join('|')})\\.)?(?:${BEDROCK_VENDORS.join('|')})\\.` +
    '(.+?)(?:-v\\d+)?(?::\\d+)?$',
);

// Vertex writes the snapshot after an `@`, and Anthropic's upgraded 3.5 Sonnet as `-v2@`
// (`claude-3-5-sonnet-v2@20241022` is `claude-3-5-sonnet-20241022`).
const VERTEX_SNAPSHOT = /^(.+?)(?:-v\d+)?@([\w.-]+)$/;

/**
 * Removes routing from a model name: `openai/gpt-4o`, `publishers/anthropic/models/...` and ARN
 * paths keep their last segment; Bedrock and Vertex ids become the vendor's own model name.
 */
export function stripProviderPrefix(name: string): string {
  let out = name.trim();

  const slash = out.lastIndexOf('/');
  if (slash >= 0 && slash < out.length - 1) out = out.slice(slash + 1);

  const bedrock = BEDROCK_ID.exec(out);
  if (bedrock?.[1]) out = bedrock[1];

  const vertex = VERTEX_SNAPSHOT.exec(out);
  if (vertex?.[1] && vertex[2]) out = `${vertex[1]}-${vertex[2]}`;

  return out;
}

// Snapshot tails, longest first: `-2024-11-20`, `-20241022`, `-0613` / `-2411`, `-002`.
const SNAPSHOT_TAIL = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{3})$/;

/**
 * The family alias of a dated snapshot (`gpt-4o-2024-11-20` → `gpt-4o`), or `null` when the
 * name carries no snapshot tail.
 */
export function familyAlias(name: string): string | null {
  const alias = name.replace(SNAPSHOT_TAIL, '');
  return alias !== name && alias !== '' ? alias : null;
}
