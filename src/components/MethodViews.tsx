import { useMemo } from 'react';
import { METHODS } from '../methods/registry';
import { useStore } from '../state/store';
import { Guard } from './Guard';
import { useCurrentImage, useModelsInView } from './hooks';

/** Every method view that applies to the models in view, each behind its own boundary; the others listed with why not. */
export function MethodViews() {
  const models = useModelsInView();
  const image = useCurrentImage();
  const view = useStore((s) => s.view);
  const verdicts = useMemo(
    () => METHODS.map((m) => ({ method: m, reason: models.length ? m.applies(models) : 'no model loaded yet' })),
    [models],
  );
  const shown = verdicts.filter((v) => v.reason === null);
  const hidden = verdicts.filter((v) => v.reason !== null);
  return (
    <>
      {shown.map(({ method }) => (
        <section key={method.id} className="mt-6" data-testid={`${method.id}-view`}>
          <h2 className="text-lg font-semibold">{method.title}</h2>
          <Guard what={`The ${method.title} view`} resetKeys={[image?.id, models, view]}>
            <method.View />
          </Guard>
        </section>
      ))}
      {hidden.length > 0 && models.length > 0 && (
        <details className="mt-6 text-xs text-slate-400" data-testid="methods-not-shown">
          <summary>
            {hidden.length} method view{hidden.length === 1 ? '' : 's'} not shown for these models
          </summary>
          <ul className="ml-4 list-disc">
            {hidden.map(({ method, reason }) => (
              <li key={method.id}>
                {method.title}: {reason}
              </li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}
