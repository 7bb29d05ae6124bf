/**
 * Review mode, for a projector: the finding in large type, teacher | student and the chosen view with their
 * numbers, no controls in the way; ← and → (or Page Up / Page Down, Space) step through the findings, Esc leaves.
 */
import { useEffect } from 'react';
import { Compare } from '../components/Compare';
import { Guard } from '../components/Guard';
import { MethodViews } from '../components/MethodViews';
import { useFindings } from './findings';
import { useReview } from './review';
import { showFinding } from './share';

export function ReviewMode() {
  const open = useReview((s) => s.open);
  const findings = useFindings((s) => s.findings);
  const at = useFindings((s) => s.at);
  useEffect(() => {
    if (!open) return;
    const { findings: list, at: current } = useFindings.getState();
    if (list.length && current < 0) showFinding(0);
    const onKey = (e: KeyboardEvent) => {
      const { findings: all, at: i } = useFindings.getState();
      const go = (k: number) => k >= 0 && k < all.length && showFinding(k);
      if (e.key === 'Escape') useReview.getState().setOpen(false);
      else if (e.key === 'ArrowRight' || e.key === 'PageDown' || e.key === ' ') go(i + 1);
      else if (e.key === 'ArrowLeft' || e.key === 'PageUp') go(i - 1);
      else return;
      // the page's own keys (stepping images) stay out of the presentation
      e.preventDefault();
      e.stopImmediatePropagation();
    };
    window.addEventListener('keydown', onKey, { capture: true });
    return () => window.removeEventListener('keydown', onKey, { capture: true });
  }, [open]);
  if (!open) return null;
  const finding = findings[at];
  return (
    <div
      className="fixed inset-0 z-50 overflow-auto bg-slate-950 p-8 text-lg"
      data-testid="review"
      role="dialog"
      aria-label="review mode"
    >
      <header className="mb-4 flex items-baseline justify-between gap-4">
        <p className="text-3xl font-semibold" data-testid="review-finding">
          {finding ? finding.text : 'No findings yet: this is the view as it is.'}
        </p>
        <p className="shrink-0 text-base text-slate-400" data-testid="review-position">
          {findings.length ? `${at + 1} / ${findings.length} · ← → step · Esc leaves` : 'Esc leaves'}
        </p>
      </header>
      {finding && (
        <p className="mb-2 text-base text-slate-400">
          {finding.image.name} · pinned to {finding.scope === 'region' ? 'a region' : `the ${finding.scope}`}
        </p>
      )}
      <div className="text-xl">
        <Guard what="The comparison" resetKeys={[at]}>
          <Compare />
        </Guard>
        <Guard what="The method views" resetKeys={[at]}>
          <MethodViews />
        </Guard>
      </div>
    </div>
  );
}
