/** Line charts over time with uPlot, redrawn in place on each refresh. */
import uPlot from 'uplot';
import type { ChartData } from './shape.js';

/** Series colours with at least 3:1 contrast on white, told apart by hue and dash. */
const PALETTE = [
  '#0b57d0',
  '#b3261e',
  '#146c2e',
  '#7a3e9d',
  '#a15c00',
  '#006a6a',
  '#5f6368',
  '#c2185b',
];

export type ChartOptions = {
  /** Formats a value of the y axis and the legend. */
  format: (value: number) => string;
  height?: number;
};

/** One chart in a container; `update` keeps the chart when only the values change. */
export class TimeChart {
  private plot: uPlot | null = null;
  private labels = '';
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(
    private readonly container: HTMLElement,
    private readonly options: ChartOptions,
  ) {
    this.resize.observe(container);
  }

  update(data: ChartData, empty: string): void {
    const labels = JSON.stringify(data.series.map((s) => s.label));
    // uPlot's x values are seconds since the epoch.
    const aligned: uPlot.AlignedData = [
      data.xs.map((x) => x / 1000),
      ...data.series.map((s) => s.values),
    ];
    this.container.dataset.series = String(data.series.length);
    if (data.series.length === 0) {
      this.destroy();
      this.container.replaceChildren(
        Object.assign(document.createElement('p'), { className: 'empty', textContent: empty }),
      );
      return;
    }
    if (this.plot && labels === this.labels) {
      this.plot.setData(aligned);
      return;
    }
    this.destroy();
    this.container.replaceChildren();
    this.labels = labels;
    this.plot = new uPlot(this.config(data), aligned, this.container);
  }

  private config(data: ChartData): uPlot.Options {
    const format = this.options.format;
    return {
      width: this.width(),
      height: this.options.height ?? 260,
      // The API's buckets are UTC; so are the axis labels.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [{}, { values: (_u, splits) => splits.map(format), size: 80 }],
      series: [
        { label: 'Time (UTC)' },
        ...data.series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length] as string,
          width: 2,
          dash: i >= PALETTE.length ? [6, 4] : undefined,
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)),
          points: { show: data.xs.length <= 60 },
        })),
      ],
      legend: { live: true },
    };
  }

  private width(): number {
    return Math.max(280, this.container.clientWidth || 600);
  }

  private fit(): void {
    if (this.plot) this.plot.setSize({ width: this.width(), height: this.options.height ?? 260 });
  }

  private destroy(): void {
    this.plot?.destroy();
    this.plot = null;
    this.labels = '';
  }
}
