import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../errors.js';
import { KeyStore } from './key-store.js';
import { createKey, hashKey, listKeys, revokeKey } from './keys.js';

const NOW_MS = Date.parse('2026-03-01T12:00:00Z');

function keysFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'sg-keys-')), 'keys.yaml');
}

describe('virtual keys: the keys file', () => {
  it('creates a key of sg- and 32 base64url bytes and stores only its hash', () => {
    const file = keysFile();

    const fields = { org: 'acme', team: 'search', tags: { app: 'rag' } };

    const { id, key } = createKey(file, fields, NOW_MS);

    expect(key).toMatch(/^sg-[A-Za-z0-9_-]{43}$/);
    expect(id).toMatch(/^key_[0-9a-f]{12}$/);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(3));
    expect(text).toContain(hashKey(key));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(listKeys(file)).toEqual([
      {
        id,
        hash: hashKey(key),
        org: 'acme',
        team: 'search',
        tags: { app: 'rag' },
        created_at: '2026-03-01T12:00:00.000Z',
      },
    ]);
  });

  it('lists nothing when the file does not exist yet', () => {
    expect(listKeys(keysFile())).toEqual([]);
  });

  it('revokes a key by id and keeps the first revocation time', () => {
    const file = keysFile();
    const { id } = createKey(file, { user: 'ana' }, NOW_MS);

    const first = revokeKey(file, id, NOW_MS + 1000);
    const second = revokeKey(file, id, NOW_MS + 5000);

    expect(first?.revoked_at).toBe('2026-03-01T12:00:01.000Z');
    expect(second?.revoked_at).toBe('2026-03-01T12:00:01.000Z');
    expect(listKeys(file)[0]?.revoked_at).toBe('2026-03-01T12:00:01.000Z');
  });

  it('answers null when revoking an unknown id', () => {
    const file = keysFile();
    createKey(file, {}, NOW_MS);

    expect(revokeKey(file, 'key_000000000000', NOW_MS)).toBeNull();
  });

  it('refuses a malformed file with the path of each problem', () => {
    const file = keysFile();
    writeFileSync(file, 'keys:\n  - { id: a, hash: nothex, created_at: x, secret: 1 }\n');

    expect(() => listKeys(file)).toThrow(ConfigError);
    expect(() => listKeys(file)).toThrow('keys.0.hash: must be a sha256 hex digest');
  });

  it('refuses empty attribution values for a new key', () => {
    expect(() => createKey(keysFile(), { org: '  ' }, NOW_MS)).toThrow(RangeError);
  });
});

describe('virtual keys: the server key store', () => {
  it('finds a created key, then refuses it once revoked', () => {
    const file = keysFile();
    const { id, key } = createKey(file, { org: 'acme' }, NOW_MS);
    const store = new KeyStore(file, NOW_MS);

    expect(store.lookup(key, NOW_MS)?.org).toBe('acme');

    revokeKey(file, id, NOW_MS + 10);

    expect(store.lookup(key, NOW_MS + 1500)).toBeUndefined();
  });

  it('refuses unknown keys and strings that are not keys', () => {
    const file = keysFile();
    const { key } = createKey(file, { org: 'acme' }, NOW_MS);
    const store = new KeyStore(file, NOW_MS);

    expect(store.lookup(`${key}x`, NOW_MS)).toBeUndefined();
    expect(store.lookup('sk-not-a-spendgate-key', NOW_MS)).toBeUndefined();
    expect(store.lookup(hashKey(key), NOW_MS)).toBeUndefined();
  });

  it('finds a key added by the cli only after the once-a-second mtime check', () => {
    const file = keysFile();
    const store = new KeyStore(file, NOW_MS);
    const { key } = createKey(file, { team: 'infra' }, NOW_MS);

    expect(store.lookup(key, NOW_MS + 999)).toBeUndefined();
    expect(store.lookup(key, NOW_MS + 1000)?.team).toBe('infra');
  });

  it('keeps the last good keys when the file is rewritten with mistakes', () => {
    const file = keysFile();
    const { key } = createKey(file, { org: 'acme' }, NOW_MS);
    const errors: string[] = [];
    const store = new KeyStore(file, NOW_MS, { onReloadError: (e) => errors.push(e.name) });

    writeFileSync(file, 'keys: [ {');

    expect(store.lookup(key, NOW_MS + 2000)?.org).toBe('acme');
    expect(store.lookup(key, NOW_MS + 4000)?.org).toBe('acme');
    expect(errors).toEqual(['ConfigError']);
  });

  it('refuses a key whose revocation time is ahead of the gateway clock', () => {
    const file = keysFile();
    const { id, key } = createKey(file, { org: 'acme' }, NOW_MS);
    revokeKey(file, id, NOW_MS + 3_600_000);

    expect(new KeyStore(file, NOW_MS).lookup(key, NOW_MS)).toBeUndefined();
  });
});
