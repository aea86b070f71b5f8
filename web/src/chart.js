// Time-series charts on uPlot: a time x axis, drag to zoom (double-click
// or the reset button zooms out), one stepped line per provider (a price
// holds until the next tick).

import uPlot from 'uplot';

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];

// align turns per-series points [[tSec, value], ...] into uPlot's aligned
// data: one sorted x array and one y array per series (null where a series
// has no point at that time).
export function align(seriesPoints) {
  const xs = [...new Set(seriesPoints.flatMap((pts) => pts.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = seriesPoints.map((pts) => {
    const y = new Array(xs.length).fill(null);
    for (const [x, v] of pts) y[index.get(x)] = v;
    return y;
  });
  return [xs, ...ys];
}

// lineChart draws series (names) into el; returns the uPlot instance.
export function lineChart(el, { names, data, yLabel, yFormat = (v) => v, xFormat, stepped = true, height = 320 }) {
  const paths = stepped ? uPlot.paths.stepped({ align: 1 }) : uPlot.paths.linear();
  const opts = {
    width: Math.max(320, el.clientWidth),
    height,
    cursor: { drag: { x: true, y: false, setScale: true } },
    scales: { x: { time: true } },
    legend: { live: false },
    axes: [
      xFormat
        ? {
            stroke: '#475569',
            grid: { stroke: '#e2e8f0' },
            space: 90,
            incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600],
            values: (u, vals) => vals.map((v) => xFormat(v)),
          }
        : { stroke: '#475569', grid: { stroke: '#e2e8f0' } },
      { label: yLabel, stroke: '#475569', grid: { stroke: '#e2e8f0' }, values: (u, vals) => vals.map(yFormat), size: 64 },
    ],
    series: [
      { label: 'Time', value: (u, v) => (v == null ? '' : new Date(v * 1000).toLocaleString()) },
      ...names.map((name, i) => ({
        label: name,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        spanGaps: true,
        paths,
        points: { size: 5 },
        value: (u, v) => (v == null ? '' : yFormat(v)),
      })),
    ],
  };
  const u = new uPlot(opts, data, el);
  const ro = new ResizeObserver(() => u.setSize({ width: Math.max(320, el.clientWidth), height }));
  ro.observe(el);
  return u;
}
