// Bundles the dashboard's client (src/dashboard/client) with uPlot and its CSS into
// dist/dashboard/public/app.js and app.css, which the gateway serves under /dashboard/.
// Everything the page needs is in those two files: no CDN, works offline.
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/dashboard/public`;

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { app: 'src/dashboard/client/main.ts' },
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // BigInt and JSON.parse source access: browsers from 2021 on; the money sums need BigInt.
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  // uPlot's MIT notice stays with its code.
  legalComments: 'eof',
  tsconfig: 'src/dashboard/client/tsconfig.json',
  logLevel: 'warning',
  metafile: true,
});

for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
  console.log(`dashboard: ${file.replace(root, '')} ${(bytes / 1024).toFixed(1)} KiB`);
}
