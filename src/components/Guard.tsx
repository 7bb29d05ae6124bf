import { type ReactNode, Suspense } from 'react';
import { ErrorBoundary, type FallbackProps } from 'react-error-boundary';

/** What failed, in words, inside the one view it happened in; everything else and all user state stay. */
function Failed({ error, resetErrorBoundary, what }: FallbackProps & { what: string }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div role="alert" className="rounded border border-red-800 bg-red-950/40 p-2 text-sm" data-testid="view-error">
      <p>
        {what} failed to draw: {message}
      </p>
      <p className="text-xs text-slate-400">
        The rest of the page and everything you opened are unaffected. Change the image or a setting, or{' '}
        <button type="button" className="underline" onClick={resetErrorBoundary}>
          try again
        </button>
        .
      </p>
    </div>
  );
}

/**
 * An error boundary (and a loading fallback for lazily loaded views) around one pane or view. It resets when
 * any of `resetKeys` changes (another image, other models), so a failure never outlives its cause.
 */
export function Guard({ what, resetKeys, children }: { what: string; resetKeys: unknown[]; children: ReactNode }) {
  return (
    <ErrorBoundary
      resetKeys={resetKeys}
      fallbackRender={(p) => <Failed {...p} what={what} />}
      onError={(e) => console.error(`AttnLens: ${what} failed`, e)}
    >
      <Suspense fallback={<p className="text-xs text-slate-400">loading the view…</p>}>{children}</Suspense>
    </ErrorBoundary>
  );
}
