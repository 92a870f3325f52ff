/**
 * Small accessible charts for the console's reports: inline SVG (no library), each with a
 * one-sentence summary as its accessible name and the same numbers as a table underneath (in a
 * <details>, open for anyone, read by screen readers as a plain table).
 */
import { useEffect, useState, type ReactNode } from 'react';

export interface Series {
  label: string;
  /** A colour with at least 3:1 contrast against white (WCAG 1.4.11). */
  color: string;
  values: number[];
}

const H = 220;
const NARROW = '(max-width: 600px)';

/** The drawing's width in SVG units: narrower on a phone, so its text stays readable when scaled to fit. */
function useChartWidth(): number {
  const [narrow, setNarrow] = useState(() => window.matchMedia(NARROW).matches);
  useEffect(() => {
    const q = window.matchMedia(NARROW);
    const on = () => setNarrow(q.matches);
    q.addEventListener('change', on);
    return () => q.removeEventListener('change', on);
  }, []);
  return narrow ? 360 : 640;
}
const PAD = { left: 44, right: 8, top: 10, bottom: 28 };

/** Round numbers for the axis: 0, and up to four steps to at least `max` (whole steps for counts). */
function ticks(max: number): number[] {
  if (max <= 0) return [0, 1];
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!);
  const out: number[] = [];
  for (let v = 0; v <= max + step - 1e-9; v += step) out.push(Math.round(v * 1000) / 1000);
  return out;
}

function Legend({ series }: { series: Series[] }) {
  return (
    <ul className="legend" aria-hidden="true">
      {series.map((s) => (
        <li key={s.label}>
          <span className="swatch" style={{ background: s.color }} />
          {s.label}
        </li>
      ))}
    </ul>
  );
}

function DataTable({ caption, rowHeader, labels, series, format }: { caption: string; rowHeader: string; labels: string[]; series: Series[]; format: (n: number) => string }) {
  return (
    <details className="chart-table">
      <summary>Show the numbers as a table</summary>
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{rowHeader}</th>
            {series.map((s) => (
              <th scope="col" key={s.label}>
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {labels.map((l, i) => (
            <tr key={l}>
              <th scope="row">{l}</th>
              {series.map((s) => (
                <td key={s.label}>{format(s.values[i] ?? 0)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** Vertical bars, one group per label (e.g. per day), with a y axis. */
export function BarChart({ title, summary, rowHeader, labels, series, format = String, tickLabel = (l) => l }: { title: string; summary: string; rowHeader: string; labels: string[]; series: Series[]; format?: (n: number) => string; tickLabel?: (label: string) => string }): ReactNode {
  const W = useChartWidth();
  const max = Math.max(0, ...series.flatMap((s) => s.values));
  const axis = ticks(max);
  const top = axis[axis.length - 1]!;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const group = plotW / Math.max(1, labels.length);
  const bar = Math.max(1, (group * 0.8) / series.length);
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const every = Math.ceil(labels.length / (W < 640 ? 4 : 8));
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${summary}`}>
        {axis.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} stroke="#d5dae1" />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" fontSize="12" fill="#3d4654">
              {format(t)}
            </text>
          </g>
        ))}
        {labels.map((l, i) => (
          <g key={l}>
            {series.map((s, j) => {
              const v = s.values[i] ?? 0;
              return <rect key={s.label} x={PAD.left + i * group + group * 0.1 + j * bar} y={y(v)} width={bar} height={Math.max(0, PAD.top + plotH - y(v))} fill={s.color} />;
            })}
            {i % every === 0 && (
              <text x={PAD.left + i * group + group / 2} y={H - 8} textAnchor="middle" fontSize="12" fill="#3d4654">
                {tickLabel(l)}
              </text>
            )}
          </g>
        ))}
      </svg>
      <Legend series={series} />
      <DataTable caption={title} rowHeader={rowHeader} labels={labels} series={series} format={format} />
    </figure>
  );
}

/** Horizontal bars, one per label (e.g. per user), largest first as given. */
export function HBarChart({ title, summary, rowHeader, valueHeader, labels, values, color, format = String }: { title: string; summary: string; rowHeader: string; valueHeader: string; labels: string[]; values: number[]; color: string; format?: (n: number) => string }): ReactNode {
  const W = useChartWidth();
  const max = Math.max(1, ...values);
  const rowH = 26;
  const labelW = W < 640 ? 150 : 230;
  const valueW = W < 640 ? 70 : 90;
  const room = W < 640 ? 20 : 30;
  const height = Math.max(rowH, labels.length * rowH) + 4;
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${height}`} role="img" aria-label={`${title}: ${summary}`}>
        {labels.map((l, i) => (
          <g key={l}>
            <text x={labelW - 8} y={i * rowH + 17} textAnchor="end" fontSize="13" fill="#1c2430">
              {l.length > room ? `${l.slice(0, room - 1)}…` : l}
            </text>
            <rect x={labelW} y={i * rowH + 4} width={Math.max(values[i]! > 0 ? 2 : 0, ((W - labelW - valueW) * values[i]!) / max)} height={rowH - 8} fill={color} />
            <text x={labelW + ((W - labelW - valueW) * values[i]!) / max + 6} y={i * rowH + 17} fontSize="13" fill="#1c2430">
              {format(values[i]!)}
            </text>
          </g>
        ))}
      </svg>
      <DataTable caption={title} rowHeader={rowHeader} labels={labels} series={[{ label: valueHeader, color, values }]} format={format} />
    </figure>
  );
}

/** Bytes as a person reads them: 0 B, 12.3 KB, 4.5 MB, 1.2 GB (powers of 1024). */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
