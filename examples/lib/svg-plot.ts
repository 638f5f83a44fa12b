// A line chart as a hand-written SVG string: no dependency, opens in any browser.

export interface Series {
  label: string;
  xs: readonly number[];
  ys: readonly number[];
}

/** Nice round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An SVG line chart of one or more series (e.g. perplexity per epoch). */
export function lineChart(series: readonly Series[], opts: { title: string; xLabel: string; yLabel: string }): string {
  const W = 720, H = 420, left = 70, right = 20, top = 50, bottom = 60;
  const xs = series.flatMap((s) => s.xs), ys = series.flatMap((s) => s.ys);
  const xMin = Math.min(...xs), xMax = Math.max(...xs);
  const yMin = Math.min(1, ...ys), yMax = Math.max(...ys); // 1: perplexity's floor
  const sx = (x: number) => left + ((x - xMin) / (xMax - xMin || 1)) * (W - left - right);
  const sy = (y: number) => H - bottom - ((y - yMin) / (yMax - yMin || 1)) * (H - top - bottom);
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e'];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="25" text-anchor="middle" font-size="16">${escape(opts.title)}</text>`,
  ];
  for (const t of ticks(xMin, xMax)) {
    parts.push(`<line x1="${sx(t)}" y1="${top}" x2="${sx(t)}" y2="${H - bottom}" stroke="#eee"/>`,
      `<text x="${sx(t)}" y="${H - bottom + 18}" text-anchor="middle">${t}</text>`);
  }
  for (const t of ticks(yMin, yMax)) {
    parts.push(`<line x1="${left}" y1="${sy(t)}" x2="${W - right}" y2="${sy(t)}" stroke="#eee"/>`,
      `<text x="${left - 8}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`);
  }
  parts.push(
    `<line x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}" stroke="black"/>`,
    `<text x="${(left + W - right) / 2}" y="${H - 15}" text-anchor="middle">${escape(opts.xLabel)}</text>`,
    `<text transform="translate(18 ${(top + H - bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(opts.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const colour = colours[i % colours.length]!;
    const points = s.xs.map((x, j) => `${sx(x).toFixed(1)},${sy(s.ys[j]!).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points}"/>`,
      `<text x="${W - right - 10}" y="${top + 16 * (i + 1)}" text-anchor="end" fill="${colour}">${escape(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
