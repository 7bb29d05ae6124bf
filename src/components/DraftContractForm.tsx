/**
 * The draft contract of a model dropped without one, as a form: what the graph decided (with why) and what it
 * asks (marked "to confirm", with a default). Open validates it as any contract is validated, shows the
 * validator's errors here, and opens the model with it as a sidecar would; Download sidecar saves it as
 * `<model>.contract.json` so the model opens directly next time. The logic is contract/draft's.
 */
import { useId, useMemo, useState } from 'react';
import { openDraftedModel } from '../app/controller';
import { download } from '../app/download';
import { useDrafts } from '../app/drafts';
import {
  checkDraft,
  type DraftAnswers,
  type DraftContract,
  type DraftOutput,
  type DraftRole,
  defaultAnswers,
  NORMALISATIONS,
  type NormalisationPreset,
  type Proposal,
  parseClassNames,
  type Question,
  questionDefaults,
  sidecarName,
} from '../contract/draft';
import { useStore } from '../state/store';

const ROLE_LABELS: Record<DraftRole, string> = {
  ignore: 'ignore (leave out)',
  segmentation_logits: 'segmentation logits',
  class_logits: 'class logits (softmax)',
  multilabel_logits: 'multi-label logits (sigmoid)',
  cbam_channel_gate: 'CBAM channel gate',
  channel_gate: 'channel-only gate (squeeze-and-excitation)',
  cbam_spatial_gate: 'CBAM spatial gate',
  cbam_refined: 'CBAM refined map',
  attnfd_projected: 'AttnFD projection',
  cls_attention: 'CLS attention',
  cls_key_cosine: 'CLS–key cosine',
  box_logits: 'box class logits',
  boxes: 'boxes',
  cross_attention: 'cross-attention',
  encoder_attention: 'encoder attention',
  router_weights: 'SAK router weights',
  adapter_features: 'SAK adapter features',
  token_features: 'patch tokens',
  self_attention: 'self-attention (all layers)',
};

const OPTION_LABELS: Record<string, string> = {
  softmax_no_object: 'softmax, last column "no object"',
  cxcywh_normalized: 'cx, cy, w, h (0–1)',
  xyxy_normalized: 'x0, y0, x1, y1 (0–1)',
  xyxy_pixels: 'x0, y0, x1, y1 (input pixels)',
  bilinear_align_corners: 'bilinear, align corners',
};

const PRESET_LABELS: Record<NormalisationPreset, string> = {
  imagenet: NORMALISATIONS.imagenet.label,
  unit: `${NORMALISATIONS.unit.label} (pixel ÷ 255)`,
  symmetric: NORMALISATIONS.symmetric.label,
  custom: 'custom',
};

/** "decided by the graph" or "to confirm", with why. */
function Why({ p, testId }: { p: Pick<Proposal<unknown>, 'certainty' | 'reason'>; testId?: string }) {
  return (
    <span className="block text-[11px] text-slate-400" data-testid={testId} data-certainty={p.certainty}>
      {p.certainty === 'ask' ? (
        <span className="mr-1 rounded bg-amber-700/60 px-1 text-amber-100">to confirm</span>
      ) : (
        <span className="mr-1 rounded bg-emerald-800/60 px-1 text-emerald-100">from the graph</span>
      )}
      {p.reason}
    </span>
  );
}

const field = 'max-w-full rounded bg-slate-800 px-1 py-0.5 text-xs text-slate-100';

function Select<T extends string>(props: {
  label: string;
  value: T;
  options: readonly T[];
  onChange: (v: T) => void;
  testId: string;
  labels?: Record<string, string>;
}) {
  const id = useId();
  return (
    <span className="mr-3 inline-flex max-w-full items-center gap-1">
      <label htmlFor={id}>{props.label}</label>
      <select
        id={id}
        className={field}
        value={props.value}
        data-testid={props.testId}
        onChange={(e) => props.onChange(e.target.value as T)}
      >
        {props.options.map((o) => (
          <option key={o} value={o}>
            {props.labels?.[o] ?? o}
          </option>
        ))}
      </select>
    </span>
  );
}

function Text(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  testId: string;
  width?: string;
  readOnly?: boolean;
}) {
  const id = useId();
  return (
    <span className="mr-3 inline-flex max-w-full items-center gap-1">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        className={`${field} ${props.width ?? 'w-40'}`}
        value={props.value}
        readOnly={props.readOnly}
        data-testid={props.testId}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </span>
  );
}

/** A model's draft contract form, in its pane while the model waits for a contract. */
export function DraftContractForm({ modelId }: { modelId: string }) {
  const entry = useDrafts((s) => s.entries[modelId]);
  if (!entry) return null;
  return <DraftForm modelId={modelId} draft={entry.draft} failed={entry.failed} />;
}

function DraftForm({ modelId, draft, failed }: { modelId: string; draft: DraftContract; failed?: string }) {
  const [answers, setAnswers] = useState<DraftAnswers>(() => defaultAnswers(draft));
  const [classText, setClassText] = useState(() => answers.classNames.join('\n'));
  const [preset, setPreset] = useState<NormalisationPreset>(draft.input.normalisation.value);
  const [opening, setOpening] = useState(false);
  const classes = useMemo(() => parseClassNames(classText), [classText]);
  const complete = useMemo(() => ({ ...answers, classNames: classes.ok ? classes.names : [] }), [answers, classes]);
  const check = useMemo(() => checkDraft(draft, complete), [draft, complete]);
  const errors = [...(classes.ok ? [] : [`classes: ${classes.problem}`]), ...check.errors];

  const setInput = (patch: Partial<DraftAnswers['input']>) =>
    setAnswers((a) => ({ ...a, input: { ...a.input, ...patch } }));
  const choosePreset = (p: NormalisationPreset) => {
    setPreset(p);
    if (p !== 'custom') {
      const n = NORMALISATIONS[p];
      setInput({ scale: String(n.scale), mean: n.mean.join(', '), std: n.std.join(', ') });
    }
  };
  const setOutput = (name: string, patch: Partial<DraftAnswers['outputs'][string]>) =>
    setAnswers((a) => ({ ...a, outputs: { ...a.outputs, [name]: { ...a.outputs[name], ...patch } } }));
  const open = async () => {
    if (!check.contract) return;
    setOpening(true);
    await openDraftedModel(modelId, JSON.stringify(check.contract));
    setOpening(false);
  };
  const sizeOpen = draft.input.size.certainty === 'ask';
  const expected = classesExpected(draft, answers);

  return (
    <form
      className="mt-2 min-w-0 space-y-3 overflow-hidden break-words rounded border border-amber-700/60 bg-slate-900/80 p-2 text-xs"
      data-testid="draft-form"
      aria-label={`Draft contract for ${draft.file}`}
      onSubmit={(e) => {
        e.preventDefault();
        void open();
      }}
      // arrow keys typed here must not step through the images (the page's shortcut)
      onKeyDown={(e) => e.stopPropagation()}
    >
      <p className="text-sm text-amber-200">
        {draft.file} has no AttnLens contract. Drafted from its graph: check what it found, confirm or correct what it
        asks (<span className="rounded bg-amber-700/60 px-1 text-amber-100">to confirm</span>), then open it.
      </p>
      {draft.blockers.length > 0 && (
        <ul className="list-disc pl-4 text-red-300" data-testid="draft-blockers">
          {draft.blockers.map((b) => (
            <li key={b}>{b}</li>
          ))}
        </ul>
      )}

      <fieldset className="space-y-1">
        <legend className="font-semibold">Model</legend>
        <Text
          label="id"
          value={answers.model.id}
          testId="draft-model-id"
          onChange={(id) => setAnswers((a) => ({ ...a, model: { ...a.model, id } }))}
        />
        <Text
          label="name"
          value={answers.model.name}
          testId="draft-model-name"
          onChange={(name) => setAnswers((a) => ({ ...a, model: { ...a.model, name } }))}
        />
        <Select
          label="role"
          value={answers.model.role}
          options={['teacher', 'student'] as const}
          testId="draft-model-role"
          onChange={(role) => setAnswers((a) => ({ ...a, model: { ...a.model, role } }))}
        />
        <Why p={draft.model.role} />
      </fieldset>

      <fieldset className="space-y-1">
        <legend className="font-semibold">
          Input{' '}
          <span className="font-normal text-slate-400">
            {draft.input.dims ? `[${draft.input.dims.join(', ')}] ${draft.input.dtype}` : ''}
          </span>
        </legend>
        {draft.input.names.length > 1 ? (
          <Select
            label="image input"
            value={answers.input.name}
            options={draft.input.names}
            testId="draft-input-name"
            onChange={(name) => setInput({ name })}
          />
        ) : (
          <Text
            label="image input"
            value={answers.input.name}
            testId="draft-input-name"
            readOnly
            onChange={() => undefined}
          />
        )}
        <Why p={draft.input.name} />
        <div>
          <Text
            label="height"
            width="w-16"
            value={answers.input.height}
            readOnly={!sizeOpen}
            testId="draft-input-height"
            onChange={(height) => setInput({ height })}
          />
          <Text
            label="width"
            width="w-16"
            value={answers.input.width}
            readOnly={!sizeOpen}
            testId="draft-input-width"
            onChange={(width) => setInput({ width })}
          />
          <Why p={draft.input.size} />
        </div>
        <div>
          <Select
            label="layout"
            value={answers.input.layout}
            options={['NCHW', 'NHWC'] as const}
            testId="draft-input-layout"
            onChange={(layout) => setInput({ layout })}
          />
          <Why p={draft.input.layout} />
        </div>
        <div>
          <Select
            label="channel order"
            value={answers.input.color}
            options={['RGB', 'BGR'] as const}
            testId="draft-input-color"
            onChange={(color) => setInput({ color })}
          />
          <Select
            label="resize"
            value={answers.input.resize}
            options={['stretch', 'letterbox'] as const}
            testId="draft-input-resize"
            onChange={(resize) => setInput({ resize })}
          />
          <Why p={{ certainty: 'ask', reason: `${draft.input.color.reason}; ${draft.input.resize.reason}` }} />
        </div>
        <div>
          <Select
            label="normalisation"
            value={preset}
            options={['imagenet', 'unit', 'symmetric', 'custom'] as const}
            labels={PRESET_LABELS}
            testId="draft-normalisation"
            onChange={choosePreset}
          />
          <Text
            label="scale"
            width="w-12"
            value={answers.input.scale}
            testId="draft-input-scale"
            onChange={(scale) => {
              setPreset('custom');
              setInput({ scale });
            }}
          />
          <Text
            label="mean"
            width="w-32"
            value={answers.input.mean}
            testId="draft-input-mean"
            onChange={(mean) => {
              setPreset('custom');
              setInput({ mean });
            }}
          />
          <Text
            label="std"
            width="w-32"
            value={answers.input.std}
            testId="draft-input-std"
            onChange={(std) => {
              setPreset('custom');
              setInput({ std });
            }}
          />
          <Why p={draft.input.normalisation} />
        </div>
      </fieldset>

      <ClassNames
        text={classText}
        onChange={setClassText}
        summary={
          classes.ok
            ? `${classes.names.length} class${classes.names.length === 1 ? '' : 'es'}${classes.note ? ` — ${classes.note}` : ''}${expected ? `; ${expected}` : ''}`
            : classes.problem
        }
        why={draft.classes}
      />

      {draft.blocks.length > 0 && (
        <fieldset className="space-y-1">
          <legend className="font-semibold">Query blocks</legend>
          {draft.blocks.map((b) => {
            const answer = answers.blocks[String(b.queries)];
            const setBlock = (patch: Partial<typeof answer>) =>
              setAnswers((a) => ({ ...a, blocks: { ...a.blocks, [b.queries]: { ...answer, ...patch } } }));
            return (
              <div key={b.queries}>
                <span className="mr-2 font-mono">{b.queries} queries</span>
                <Select
                  label="block"
                  value={answer.block}
                  options={['one_to_one', 'one_to_many'] as const}
                  testId={`draft-block-${b.queries}`}
                  onChange={(block) => setBlock({ block })}
                />
                {answer.block === 'one_to_many' && (
                  <Text
                    label="k"
                    width="w-12"
                    value={answer.k}
                    testId={`draft-k-${b.queries}`}
                    onChange={(k) => setBlock({ k })}
                  />
                )}
                <Why p={b.block} />
              </div>
            );
          })}
        </fieldset>
      )}

      <fieldset>
        <legend className="font-semibold">Outputs</legend>
        <ul className="space-y-2">
          {draft.outputs.map((o) => (
            <OutputRow
              key={o.name}
              output={o}
              answer={answers.outputs[o.name]}
              onRole={(role) => setOutput(o.name, { role, values: questionDefaults(draft, o.name, role) })}
              onValue={(f, v) => setOutput(o.name, { values: { ...answers.outputs[o.name].values, [f]: v } })}
            />
          ))}
        </ul>
      </fieldset>

      {failed && (
        <p className="text-red-300" data-testid="draft-failed">
          It did not open with this contract: {failed}
        </p>
      )}
      {errors.length > 0 && (
        <div data-testid="draft-errors">
          <p className="text-red-300">Before it can open:</p>
          <ul className="list-disc pl-4 text-red-300">
            {errors.map((e) => (
              <li key={e} data-testid="draft-error">
                {e}
              </li>
            ))}
          </ul>
        </div>
      )}
      <div className="flex gap-2">
        <button
          type="submit"
          className="rounded bg-sky-700 px-2 py-1 text-white disabled:opacity-50"
          disabled={!check.contract || opening}
          data-testid="draft-open"
        >
          {opening ? 'Opening…' : 'Open with this contract'}
        </button>
        <button
          type="button"
          className="rounded bg-slate-700 px-2 py-1 text-white disabled:opacity-50"
          disabled={!check.contract}
          data-testid="draft-download"
          onClick={() => check.contract && downloadSidecar(draft.file, JSON.stringify(check.contract, null, 2))}
        >
          Download sidecar ({sidecarName(draft.file)})
        </button>
      </div>
    </form>
  );
}

/** What the class outputs expect of the class list, for the summary under the names. */
function classesExpected(draft: DraftContract, answers: DraftAnswers): string {
  const parts = draft.outputs.flatMap((o) => {
    const role = answers.outputs[o.name]?.role;
    if (!o.shape || !role) return [];
    if (role === 'segmentation_logits') return [`${o.name}: ${o.shape[1]} (one per channel)`];
    if (role === 'class_logits' || role === 'multilabel_logits')
      return [`${o.name}: ${o.shape[1]} or ${o.shape[1] + 1} with a background`];
    if (role === 'box_logits') {
      const n = answers.outputs[o.name].values.activation === 'softmax_no_object' ? o.shape[2] - 1 : o.shape[2];
      return [`${o.name}: ${n} or ${n + 1} with a background`];
    }
    return [];
  });
  return parts.length ? `expected by ${parts.join(', ')}` : '';
}

function ClassNames(props: { text: string; onChange: (t: string) => void; summary: string; why: Proposal<number> }) {
  const id = useId();
  return (
    <fieldset className="space-y-1">
      <legend className="font-semibold">Classes</legend>
      <label htmlFor={id} className="block">
        Class names, one per line (id 0 first), or paste a COCO file's categories JSON
      </label>
      <textarea
        id={id}
        className={`${field} h-24 w-full font-mono`}
        value={props.text}
        data-testid="draft-classes"
        onChange={(e) => props.onChange(e.target.value)}
      />
      <span className="block" data-testid="draft-classes-summary">
        {props.summary}
      </span>
      <Why p={{ certainty: 'ask', reason: `${props.why.reason}; their names only you know` }} />
    </fieldset>
  );
}

function OutputRow(props: {
  output: DraftOutput;
  answer: DraftAnswers['outputs'][string];
  onRole: (r: DraftRole) => void;
  onValue: (field: Question['field'], value: string) => void;
}) {
  const { output: o, answer } = props;
  const choice = o.choices.find((c) => c.role === answer.role);
  const original = answer.role === o.role.value;
  return (
    <li data-testid={`draft-output-${o.name}`} data-role={answer.role}>
      <span className="mr-2 font-mono">{o.name}</span>
      <span className="mr-2 text-slate-400">
        {o.dims ? `[${o.dims.join(', ')}]` : 'no shape'} {o.dtype}
        {o.producer ? ` · ${o.producer}` : ''}
      </span>
      <Select
        label="role"
        value={answer.role}
        options={o.choices.map((c) => c.role)}
        labels={ROLE_LABELS}
        testId={`draft-role-${o.name}`}
        onChange={props.onRole}
      />
      <Why p={original ? o.role : { certainty: 'ask', reason: choice?.reason ?? '' }} testId={`draft-why-${o.name}`} />
      {choice?.questions.map((q) => (
        <QuestionField
          key={q.field}
          output={o.name}
          question={q}
          value={answer.values[q.field] ?? ''}
          onChange={(v) => props.onValue(q.field, v)}
        />
      ))}
    </li>
  );
}

function QuestionField(props: { output: string; question: Question; value: string; onChange: (v: string) => void }) {
  const { question: q } = props;
  const testId = `draft-${q.field}-${props.output}`;
  return (
    <span className="ml-4 block">
      {q.kind === 'choice' ? (
        <Select
          label={q.field.replace('_', ' ')}
          value={props.value}
          options={q.options ?? []}
          labels={OPTION_LABELS}
          testId={testId}
          onChange={props.onChange}
        />
      ) : (
        <Text label={q.field.replace('_', ' ')} value={props.value} testId={testId} onChange={props.onChange} />
      )}
      <Why p={{ certainty: 'ask', reason: q.reason }} />
    </span>
  );
}

const downloadSidecar = (file: string, text: string) =>
  download(sidecarName(file), new Blob([text], { type: 'application/json' }));

/** Under a model opened with a drafted contract: the sidecar to download, so it opens directly next time. */
export function DraftedNote({ modelId }: { modelId: string }) {
  const entry = useDrafts((s) => s.entries[modelId]);
  const ready = useStore((s) => s.slots[modelId]?.status === 'ready');
  if (!entry?.opened || !ready) return null;
  const text = JSON.stringify(JSON.parse(entry.opened), null, 2);
  return (
    <p className="mt-1 text-xs text-slate-400" data-testid="drafted-note">
      Opened with the contract drafted from its graph.{' '}
      <button
        type="button"
        className="underline"
        data-testid="drafted-download"
        onClick={() => downloadSidecar(entry.draft.file, text)}
      >
        Download sidecar ({sidecarName(entry.draft.file)})
      </button>{' '}
      and drop it with the model to open it directly next time.
    </p>
  );
}
