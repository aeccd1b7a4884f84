/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and ranks where the busy time went, by
 * function and by module, so hot spots can be named with their share of the process's CPU.
 */
import { readFileSync } from 'node:fs';

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};

type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

/** One line of a ranking: self time in milliseconds and its share of the non-idle samples. */
export type HotSpot = { name: string; selfMs: number; share: number };

/** The top functions and modules by self time; idle samples are left out of the shares. */
export function rankProfile(
  file: string,
  top: number,
): { functions: HotSpot[]; modules: HotSpot[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });

  const parents = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parents.set(child, node);
  }

  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const micros = selfMicros.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (micros === 0 || functionName === '(idle)') continue;
    busy += micros;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    // Native frames (writev, string encoding) say little alone; name the JS code calling them.
    const caller = url ? undefined : parents.get(node.id)?.callFrame;
    const via = caller?.url
      ? ` via ${caller.functionName || '(anonymous)'} ${shortUrl(caller.url)}`
      : '';
    const name = `${functionName || '(anonymous)'} ${where}`.trim() + via;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    const module = moduleOf(url, functionName);
    byModule.set(module, (byModule.get(module) ?? 0) + micros);
  }

  const rank = (map: Map<string, number>): HotSpot[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => ({ name, selfMs: micros / 1000, share: busy ? micros / busy : 0 }));
  return { functions: rank(byFunction), modules: rank(byModule) };
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length);
  const src = path.indexOf('/src/');
  return src >= 0 ? path.slice(src + 1) : path;
}

// Groups a frame by npm package, by folder of src/, or as Node's own / V8's work.
function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node core';
  const short = shortUrl(url);
  if (short.startsWith('src/')) return short.split('/').slice(0, 2).join('/');
  if (url.includes('/node_modules/')) {
    const parts = short.split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? short);
  }
  return short;
}
