/** The "Report" button: builds the review report (src/share/buildReport.ts) and downloads it as one HTML file. */
import { useState } from 'react';
import { download } from '../app/download';
import { buildReport } from './buildReport';
import { useFindings } from './findings';

export const REPORT_FILE = 'attnlens-report.html';

export function ReportButton() {
  const findings = useFindings((s) => s.findings.length);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [problem, setProblem] = useState('');
  const start = () => {
    setProblem('');
    setProgress({ done: 0, total: Math.max(1, findings) });
    buildReport((done, total) => setProgress({ done, total }))
      .then((html) => download(REPORT_FILE, new Blob([html], { type: 'text/html' })))
      .catch((e: Error) => setProblem(`The report could not be made: ${e.message}. Your view is as it was.`))
      .finally(() => setProgress(null));
  };
  return (
    <span className="inline-flex items-center gap-2">
      <button
        type="button"
        className="rounded bg-slate-800 px-2 py-1 disabled:opacity-50"
        data-testid="report-button"
        disabled={progress !== null}
        aria-busy={progress !== null}
        title={
          findings
            ? `One HTML page (prints to PDF) with each of the ${findings} findings' views, pictures and numbers`
            : 'One HTML page (prints to PDF) with the current view, its picture and numbers (no findings pinned yet)'
        }
        onClick={start}
      >
        {progress ? `Report: ${Math.min(progress.done + 1, progress.total)} of ${progress.total}…` : 'Report'}
      </button>
      {problem && (
        <span role="alert" className="text-xs text-red-300" data-testid="report-error">
          {problem}
        </span>
      )}
    </span>
  );
}
