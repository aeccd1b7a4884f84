import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

import { parse, stringify } from 'yaml';
import { z } from 'zod';

import { ConfigError } from '../errors.js';
import { MAX_VALUE_LENGTH, TAG_NAME } from './sources.js';

/** Every virtual key starts with this, which is how a credential is told apart from a JWT. */
export const KEY_PREFIX = 'sg-';

const value = z.string().trim().min(1).max(MAX_VALUE_LENGTH);

const recordSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest'),
    org: value.optional(),
    team: value.optional(),
    user: value.optional(),
    tags: z.record(z.string().regex(TAG_NAME), value).optional(),
    created_at: z.string().min(1),
    revoked_at: z.string().min(1).optional(),
  })
  .strict();

const fileSchema = z
  .object({ keys: z.array(recordSchema).nullable().default([]) })
  .strict()
  .superRefine((content, ctx) => {
    const seen = new Set<string>();
    (content.keys ?? []).forEach((record, index) => {
      if (seen.has(record.id)) {
        ctx.addIssue({ code: 'custom', path: ['keys', index, 'id'], message: 'duplicate id' });
      }
      seen.add(record.id);
    });
  });

/** One stored virtual key: who it attributes to, and the sha256 of the key, never the key. */
export type KeyRecord = z.output<typeof recordSchema>;

/** The attribution a new key carries. */
export type KeyFields = {
  org?: string;
  team?: string;
  user?: string;
  tags?: Record<string, string>;
};

const HEADER =
  '# Spendgate virtual API keys, written by `spendgate keys`.\n' +
  '# Only sha256 hashes are stored here; a key is shown once, when it is created.\n';

/** A new random key: `sg-` and 32 random bytes in base64url. */
export function generateKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** The sha256 hex digest under which a key is stored and looked up. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Every record in the keys file, revoked ones included; a missing file has none. */
export function listKeys(file: string): KeyRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw cause;
  }
  return parseKeysFile(file, text);
}

/** Parses the text of a keys file, throwing a `ConfigError` with every bad path. */
export function parseKeysFile(file: string, text: string): KeyRecord[] {
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (cause) {
    throw new ConfigError(file, [{ path: '(file)', message: (cause as Error).message }]);
  }
  const result = fileSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => ({
      path: issue.path.join('.') || '(file)',
      message: issue.message,
    }));
    throw new ConfigError(file, problems);
  }
  return result.data.keys ?? [];
}

/** Issues a key for `fields` and stores its hash; the returned key is never shown again. */
export function createKey(
  file: string,
  fields: KeyFields,
  nowMs: number = Date.now(),
): { id: string; key: string; record: KeyRecord } {
  const records = listKeys(file);
  const key = generateKey();
  const parsed = recordSchema.safeParse({
    id: `key_${randomBytes(6).toString('hex')}`,
    hash: hashKey(key),
    ...fields,
    created_at: new Date(nowMs).toISOString(),
  });
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new RangeError(`invalid key ${issue?.path.join('.') ?? 'fields'}: ${issue?.message}`);
  }
  const record = parsed.data;

  writeKeysFile(file, [...records, record]);
  return { id: record.id, key, record };
}

/** Marks key `id` revoked at `nowMs`; null for an unknown id. A second revoke keeps the first. */
export function revokeKey(file: string, id: string, nowMs: number = Date.now()): KeyRecord | null {
  const records = listKeys(file);
  const index = records.findIndex((record) => record.id === id);
  const found = records[index];
  if (!found) return null;
  if (found.revoked_at) return found;

  const revoked = { ...found, revoked_at: new Date(nowMs).toISOString() };
  records[index] = revoked;
  writeKeysFile(file, records);
  return revoked;
}

/**
 * Replaces the keys file atomically: a reader (the running gateway's `KeyStore`) sees either
 * the old file or the new one, never half of it. Mode 0600 since hashes still identify keys.
 */
export function writeKeysFile(file: string, records: readonly KeyRecord[]): void {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, HEADER + stringify({ keys: records }), { mode: 0o600, flush: true });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
