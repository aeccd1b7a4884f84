import { setFlagsFromString } from 'node:v8';

/**
 * How far past what the last full collection kept V8 may let the heap grow before the next one,
 * in percent. V8's own factor, on a machine with gigabytes of memory, goes up to 4×.
 */
export const HEAP_GROWING_PERCENT = 25;

const OPERATOR_FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/**
 * Bounds the gateway's heap growth between full collections, unless the operator started Node
 * with their own `--heap-growing-percent`. Under steady load the gateway's short-lived objects
 * that outlive two young collections (rows waiting for their batch, counted texts) pile up in
 * the old generation; with V8's default factor about 50 MB of live data made a 300–350 MB
 * process, in a sawtooth minutes long (BENCHMARKS.md, "Memory under sustained load"). At 1.25×
 * it stayed under 190 MB, for a full collection every 5–10 s of about 10 ms. What that costs
 * depends only on how fast garbage is promoted, not on the size of the live heap: a larger
 * heap is collected less often, each time for longer.
 * V8 reads the factor each time it sets the next limit, so setting it at start takes effect.
 * @returns whether the bound was set
 */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => OPERATOR_FLAG.test(arg))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
