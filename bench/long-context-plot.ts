// Decode ms/token against context from `tessera bench --fill-context --json` outputs: an SVG plot
// (log2 context on x, ms/token on y, one line per file) and a markdown table on stdout.
//
//   node dist/bench/long-context-plot.js --out docs/long-context.svg DSA=dsa.jsonl dense=dense.jsonl
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Row {
  readonly prompt_tokens: number;
  readonly decode_ms_per_token: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

export function plotSvg(series: ReadonlyArray<{ label: string; rows: readonly Row[] }>): string {
  const W = 640;
  const H = 400;
  const m = { l: 60, r: 120, t: 20, b: 50 };
  const xs = series.flatMap((s) => s.rows.map((r) => Math.log2(r.prompt_tokens)));
  const ymax = Math.max(...series.flatMap((s) => s.rows.map((r) => r.decode_ms_per_token))) * 1.05;
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const px = (v: number): number => m.l + ((v - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const py = (v: number): number => H - m.b - (v / ymax) * (H - m.t - m.b);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  parts.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`);
  for (let e = Math.ceil(x0); e <= x1; e++) parts.push(`<text x="${px(e)}" y="${H - m.b + 16}" text-anchor="middle">${2 ** e >= 1024 ? `${2 ** e / 1024}K` : 2 ** e}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (ymax * i) / 5;
    parts.push(`<text x="${m.l - 6}" y="${py(v) + 4}" text-anchor="end">${v.toFixed(0)}</text><line x1="${m.l}" y1="${py(v)}" x2="${W - m.r}" y2="${py(v)}" stroke="#ddd"/>`);
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">context (tokens in the cache)</text>`);
  parts.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">decode ms / token</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const pts = [...s.rows].sort((a, b) => a.prompt_tokens - b.prompt_tokens).map((r) => `${px(Math.log2(r.prompt_tokens)).toFixed(1)},${py(r.decode_ms_per_token).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${c}"/>`);
    parts.push(`<text x="${W - m.r + 8}" y="${m.t + 16 + 18 * i}" fill="${c}">${s.label}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
  const series = positionals.map((p) => {
    const [label, file] = p.includes('=') ? [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] : [p, p];
    const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Row);
    return { label, rows };
  });
  if (values.out) writeFileSync(values.out, plotSvg(series));
  const lengths = [...new Set(series.flatMap((s) => s.rows.map((r) => r.prompt_tokens)))].sort((a, b) => a - b);
  process.stdout.write(`| context | ${series.map((s) => `${s.label} ms/token`).join(' | ')} |\n|---:|${series.map(() => '---:').join('|')}|\n`);
  for (const n of lengths) process.stdout.write(`| ${n} | ${series.map((s) => s.rows.find((r) => r.prompt_tokens === n)?.decode_ms_per_token.toFixed(1) ?? '').join(' | ')} |\n`);
}

main();
