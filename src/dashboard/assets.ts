import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One built file of the dashboard, held in memory with its validator. */
export type Asset = {
  body: Buffer;
  contentType: string;
  /** A strong ETag: the quoted start of the content's SHA-256. */
  etag: string;
  /** The same digest, short: the `?v=` of the URLs the page links, so they can be immutable. */
  version: string;
};

/** The files `scripts/build-dashboard.mjs` writes, by the name they are served under. */
export const ASSET_TYPES: Readonly<Record<string, string>> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/**
 * Where the build puts the bundle: dist/dashboard/public under the package root. This module
 * sits two folders below the root both as src/dashboard/assets.ts (tsx, tests) and as
 * dist/dashboard/assets.js (the package), so one relative path serves both.
 */
export const DEFAULT_ASSET_DIR = fileURLToPath(
  new URL('../../dist/dashboard/public/', import.meta.url),
);

/**
 * The dashboard's built files, read once from `dir`. When they are missing (a checkout that was
 * not built) the next request tries again, so a build while the gateway runs is picked up.
 */
export class DashboardAssets {
  private loaded: Map<string, Asset> | null = null;

  constructor(readonly dir: string = DEFAULT_ASSET_DIR) {}

  /** Every asset, or null when the build output is not there. */
  all(): ReadonlyMap<string, Asset> | null {
    if (this.loaded) return this.loaded;
    try {
      const assets = new Map<string, Asset>();
      for (const [name, contentType] of Object.entries(ASSET_TYPES)) {
        const body = readFileSync(join(this.dir, name));
        const digest = createHash('sha256').update(body).digest('hex');
        assets.set(name, {
          body,
          contentType,
          etag: `"${digest.slice(0, 32)}"`,
          version: digest.slice(0, 12),
        });
      }
      this.loaded = assets;
      return assets;
    } catch {
      return null;
    }
  }
}
