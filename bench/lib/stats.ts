/** Latency percentiles and number formatting for the bench's tables. */

/** Percentiles of one phase's latencies, in milliseconds. */
export type LatencySummary = {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
};

/** Nearest-rank percentiles of a list of latencies (the list is sorted in place). */
export function summarize(values: number[]): LatencySummary {
  values.sort((a, b) => a - b);
  const count = values.length;
  const at = (p: number): number => values[Math.max(0, Math.ceil((p / 100) * count) - 1)] ?? NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return {
    count,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: values[count - 1] ?? NaN,
    mean: count ? sum / count : NaN,
  };
}

/** A number with a fixed count of decimals, or `n/a` when it is not finite. */
export function fixed(value: number, decimals: number): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : 'n/a';
}

/** A signed difference, e.g. `+0.21`. */
export function signed(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return (value >= 0 ? '+' : '') + value.toFixed(decimals);
}

/** A Markdown table from a header row and body rows. */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const rule = `|${header.map(() => '---').join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The middle value of a list, or the mean of the two middle ones when the count is even. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/** A figure measured once per round: its median and its lowest and highest values. */
export type OverRounds = { median: number; min: number; max: number };

/** The median and range of a figure's values, one per round. */
export function overRounds(values: number[]): OverRounds {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** `median (lowest–highest)`, e.g. `68.2 (61.0–75.4)`, or `1.62× (1.55–1.99)` with a unit. */
export function withRange(figure: OverRounds, decimals: number, unit = ''): string {
  const range = `${fixed(figure.min, decimals)}–${fixed(figure.max, decimals)}`;
  return `${fixed(figure.median, decimals)}${unit} (${range})`;
}
