/** The runtime's own text behind a worded error: folded away, there for a bug report, never the message. */
export function RawDetail({ detail }: { detail?: string }) {
  if (!detail) return null;
  return (
    <details className="mt-1 text-xs text-slate-400" data-testid="raw-detail">
      <summary className="cursor-pointer">technical detail</summary>
      <pre className="whitespace-pre-wrap break-all">{detail}</pre>
    </details>
  );
}
