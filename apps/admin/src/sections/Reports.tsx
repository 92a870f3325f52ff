import { useEffect, useState } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { adminReports, type AdminReport } from '@sealmail/contract';
import { BarChart, formatBytes, HBarChart } from '../charts';
import './activity.css';

const api = new ApiClient({ baseUrl: '' });
const RANGES = [7, 30, 90] as const;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** `2026-11-29` → `29 Nov` (UTC, as the report's days are). */
const dayLabel = (d: string) => new Date(`${d}T00:00:00Z`).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

/**
 * Reports: mail in and out per day, spam filed, bounces, and storage per user and per domain.
 * Each chart is inline SVG with a summary as its name and its numbers as a table.
 */
export function Reports() {
  const [days, setDays] = useState<(typeof RANGES)[number]>(30);
  const [report, setReport] = useState<AdminReport | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    const to = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.parse(`${to}T00:00:00Z`) - (days - 1) * 86_400_000).toISOString().slice(0, 10);
    setProblem(null);
    api.request(adminReports, { query: { from, to } }).then(setReport, (err: unknown) => setProblem(err instanceof ApiClientError ? err.message : 'The report could not be loaded; try again.'));
  }, [days]);

  const labels = report?.days.map((d) => d.day) ?? [];
  const col = (k: 'inbound' | 'outbound' | 'spam' | 'bounces') => report?.days.map((d) => d[k]) ?? [];
  return (
    <section aria-labelledby="reports-title" className="activity">
      <h2 id="reports-title">Reports</h2>
      <div className="range" role="group" aria-label="Period">
        <span>Period:</span>
        {RANGES.map((n) => (
          <button key={n} type="button" className={n === days ? undefined : 'secondary'} aria-pressed={n === days} onClick={() => setDays(n)}>
            Last {n} days
          </button>
        ))}
      </div>
      {problem && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      {report && (
        <>
          <p className="hint">
            {report.from} to {report.to} (UTC days). Counted from metadata: messages, where they were filed, and outside deliveries.
          </p>
          <BarChart
            title="Mail per day"
            summary={`${sum(col('inbound'))} received and ${sum(col('outbound'))} sent in ${labels.length} days`}
            rowHeader="Day"
            labels={labels}
            tickLabel={dayLabel}
            series={[
              { label: 'Received', color: '#5a2d91', values: col('inbound') },
              { label: 'Sent', color: '#b35c00', values: col('outbound') },
            ]}
          />
          <BarChart
            title="Spam filed and bounces per day"
            summary={`${sum(col('spam'))} messages filed as spam and ${sum(col('bounces'))} outside deliveries bounced in ${labels.length} days`}
            rowHeader="Day"
            labels={labels}
            tickLabel={dayLabel}
            series={[
              { label: 'Filed as spam', color: '#1f6f8b', values: col('spam') },
              { label: 'Bounced', color: '#a3262a', values: col('bounces') },
            ]}
          />
          <HBarChart
            title="Storage per user"
            summary={report.storage.users.length ? `largest: ${report.storage.users[0]!.address}, ${formatBytes(report.storage.users[0]!.usedBytes)}` : 'no users'}
            rowHeader="User"
            valueHeader="Storage used"
            labels={report.storage.users.slice(0, 20).map((u) => u.address)}
            values={report.storage.users.slice(0, 20).map((u) => u.usedBytes)}
            color="#5a2d91"
            format={formatBytes}
          />
          <HBarChart
            title="Storage per domain"
            summary={report.storage.domains.map((d) => `${d.domain} ${formatBytes(d.usedBytes)}`).join(', ') || 'no domains'}
            rowHeader="Domain"
            valueHeader="Storage used"
            labels={report.storage.domains.map((d) => d.domain)}
            values={report.storage.domains.map((d) => d.usedBytes)}
            color="#1f6f8b"
            format={formatBytes}
          />
        </>
      )}
    </section>
  );
}
