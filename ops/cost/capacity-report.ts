/**
 * `npx tsx ops/cost/capacity-report.ts`: draws docs/images/cost-vs-scale.svg (monthly cost of each scenario from
 * 1,000 to 1,000,000 concurrent connections, and the fixed monthly cost: observability, audit, the canary and provisioned concurrency) and prints the tables
 * of docs/capacity.md, all from ops/cost/coefficients.json and the prices, so the doc is regenerated, not edited.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../local/paths.ts';
import { PRICES_FILE } from './cli.ts';
import { readCoefficients } from './coefficients.ts';
import { limitsOf, messagesPerSecond, SCENARIOS } from './capacity.ts';
import { fixedMonthlyCost, monthlyCost, type Prices } from './model.ts';

export const SCALES = [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000];

const coefficients = readCoefficients();
const prices = JSON.parse(readFileSync(PRICES_FILE, 'utf8')) as Prices;
const total = (lines: { usd: number }[]) => lines.reduce((s, l) => s + l.usd, 0);
const costAt = (scenario: (typeof SCENARIOS)[number], connections: number) =>
  total(monthlyCost(coefficients, prices, { connections, messagesPerSecond: messagesPerSecond(scenario, connections), profile: scenario.profile }));
const fixed = total(fixedMonthlyCost(coefficients, prices));

/** A log-log chart with one line per scenario and the fixed cost as a dashed line. */
function chart(): string {
  const [w, h, left, right, top, bottom] = [760, 420, 80, 170, 30, 50];
  const series = SCENARIOS.map((s) => ({ name: s.name, points: SCALES.map((c) => [c, costAt(s, c)] as const) }));
  const values = [...series.flatMap((s) => s.points.map(([, v]) => v)), fixed];
  const [yMin, yMax] = [10 ** Math.floor(Math.log10(Math.min(...values))), 10 ** Math.ceil(Math.log10(Math.max(...values)))];
  const x = (c: number) => left + ((Math.log10(c) - 3) / 3) * (w - left - right);
  const y = (v: number) => top + (1 - (Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (h - top - bottom);
  const colors = ['#1f77b4', '#d62728', '#2ca02c'];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="#fff"/>`,
    `<text x="${left}" y="18" font-size="14">Monthly cost (USD, ${prices.region}, prod configuration) against concurrent connections</text>`,
  ];
  for (const c of SCALES.filter((s) => String(s).startsWith('1'))) {
    out.push(`<line x1="${x(c)}" x2="${x(c)}" y1="${top}" y2="${h - bottom}" stroke="#ddd"/>`, `<text x="${x(c)}" y="${h - bottom + 16}" text-anchor="middle">${c.toLocaleString('en-US')}</text>`);
  }
  for (let v = yMin; v <= yMax; v *= 10) {
    out.push(`<line x1="${left}" x2="${w - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`, `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toLocaleString('en-US')}</text>`);
  }
  out.push(`<text x="${(left + w - right) / 2}" y="${h - 10}" text-anchor="middle">concurrent connections</text>`);
  out.push(`<line x1="${left}" x2="${w - right}" y1="${y(fixed)}" y2="${y(fixed)}" stroke="#777" stroke-dasharray="6 4"/>`);
  out.push(`<text x="${w - right + 8}" y="${y(fixed) + 4}" fill="#555">fixed: ${fixed.toFixed(0)} USD</text>`);
  series.forEach((s, i) => {
    out.push(`<polyline fill="none" stroke="${colors[i]}" stroke-width="2" points="${s.points.map(([c, v]) => `${x(c).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`);
    const [, last] = s.points.at(-1)!;
    out.push(`<text x="${w - right + 8}" y="${y(last) + 4}" fill="${colors[i]}">${s.name}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const usd = (n: number) => Math.round(n).toLocaleString('en-US');
const connections = (n: number) => (Number.isFinite(n) ? (n < 1 ? 'from the start' : Math.round(n).toLocaleString('en-US')) : 'not with connections');

writeFileSync(path.join(REPO_ROOT, 'docs', 'images', 'cost-vs-scale.svg'), chart());
console.log(`| connections | ${SCENARIOS.map((s) => s.name).join(' | ')} |`);
console.log(`|---:|${SCENARIOS.map(() => '---:').join('|')}|`);
for (const c of SCALES) console.log(`| ${c.toLocaleString('en-US')} | ${SCENARIOS.map((s) => usd(costAt(s, c))).join(' | ')} |`);
console.log('\nfixed part (USD/month):');
for (const l of fixedMonthlyCost(coefficients, prices)) console.log(`| ${l.service} | ${l.item} | ${l.quantity} | ${l.usd.toFixed(2)} |`);
console.log(`| **total** | | | **${fixed.toFixed(2)}** |`);
for (const scenario of SCENARIOS) {
  console.log(`\n${scenario.name}:`);
  for (const l of limitsOf(coefficients, scenario)) console.log(`| ${l.limit} | ${l.quota} | ${connections(l.atConnections)} | ${l.operator} |`);
}
