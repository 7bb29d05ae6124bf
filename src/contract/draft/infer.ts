/**
 * A draft contract from a plain ONNX graph (pure): the input's size and layout from its shape, and per output
 * the roles its shape allows — segmentation logits at input size, class logits [1, K], query blocks (boxes
 * [1, Q, 4] with logits [1, Q, K] and cross-attention [1, Q, N]), ViT attention ([1, L, H, N], [1, L, H, T, T]),
 * encoder attention [1, H, N, N], CBAM sites (a [1, C] and a [1, 1, h, w] sigmoid gating the same features,
 * found by following the graph) — each with what the graph decides and why. What the graph cannot say (class
 * names, normalisation, box format, activation, which of two same-shape outputs is which, the interpolation an
 * overlay uses) is a question with a default the form shows as to be confirmed. Value ranges are never guessed.
 */
import type { ContractOutput } from '../types';
import { type GraphNode, graphSignature, type OnnxGraph } from './graph';
import type {
  DraftBlock,
  DraftContract,
  DraftInput,
  DraftOutput,
  DraftRole,
  Proposal,
  Question,
  RoleChoice,
} from './types';

const inferred = <T>(value: T, reason: string): Proposal<T> => ({ value, certainty: 'inferred', reason });
const ask = <T>(value: T, reason: string): Proposal<T> => ({ value, certainty: 'ask', reason });
const fmt = (dims: readonly (number | string)[] | null) => (dims ? `[${dims.join(', ')}]` : 'of no known shape');

/** Ops that only move, select or reshape values: an output's producer is looked up through them. */
const RESHAPING = new Set([
  'Slice',
  'Reshape',
  'Unsqueeze',
  'Squeeze',
  'Flatten',
  'Transpose',
  'Identity',
  'Cast',
  'Gather',
  'Concat',
  'Expand',
  'Tile',
]);
/** Ops through which a gate still gates: multiplying by it, broadcasting it. */
const GATING = new Set(['Mul', 'Unsqueeze', 'Reshape', 'Expand', 'Squeeze', 'Flatten', 'Identity', 'Cast', 'Tile']);
/** Ops between a refined map and a 1×1-conv connector of it (AttnFD's projection). */
const CONNECTOR = new Set(['Conv', 'BatchNormalization', ...RESHAPING]);
const SIGMOIDS = new Set(['Sigmoid', 'HardSigmoid']);

interface Topology {
  producers: Map<string, GraphNode>;
  consumers: Map<string, GraphNode[]>;
}

function topology(graph: OnnxGraph): Topology {
  const producers = new Map<string, GraphNode>();
  const consumers = new Map<string, GraphNode[]>();
  for (const node of graph.nodes) {
    for (const o of node.outputs) producers.set(o, node);
    for (const i of node.inputs) consumers.set(i, [...(consumers.get(i) ?? []), node]);
  }
  return { producers, consumers };
}

/** The operator that computes a tensor, looked up through ops that only reshape or select (first input). */
function producerOf(name: string, t: Topology): string | null {
  let tensor = name;
  for (let hops = 0; hops < 16; hops++) {
    const node = t.producers.get(tensor);
    if (!node) return null;
    if (!RESHAPING.has(node.opType)) return node.opType;
    tensor = node.inputs[0];
  }
  return null;
}

/** Tensors a tensor reaches forwards through `ops`, each with its distance in nodes (bounded). */
function reachForward(start: string, ops: Set<string>, t: Topology, most = 8): Map<string, number> {
  const seen = new Map<string, number>([[start, 0]]);
  let frontier = [start];
  for (let depth = 1; depth <= most && frontier.length; depth++) {
    const next: string[] = [];
    for (const tensor of frontier)
      for (const node of t.consumers.get(tensor) ?? [])
        if (ops.has(node.opType))
          for (const o of node.outputs)
            if (!seen.has(o)) {
              seen.set(o, depth);
              next.push(o);
            }
    frontier = next;
  }
  return seen;
}

/** Whether `target` is reached backwards from `start` through `ops` within a few nodes. */
function reachesBack(start: string, targets: Set<string>, ops: Set<string>, t: Topology, most = 4): string | null {
  let frontier = [start];
  const seen = new Set(frontier);
  for (let depth = 0; depth < most && frontier.length; depth++) {
    const next: string[] = [];
    for (const tensor of frontier) {
      const node = t.producers.get(tensor);
      if (!node || !ops.has(node.opType)) continue;
      for (const i of node.inputs) {
        if (targets.has(i)) return i;
        if (!seen.has(i)) {
          seen.add(i);
          next.push(i);
        }
      }
    }
    frontier = next;
  }
  return null;
}

/** The patch grid of `n` tokens tiling an H×W input with square cells, or null. */
export function tokenGrid(n: number, height: number | null, width: number | null) {
  if (!height || !width || n < 2) return null;
  for (let cell = 1; cell <= Math.min(height, width); cell++)
    if (height % cell === 0 && width % cell === 0 && (height / cell) * (width / cell) === n)
      return { grid: [height / cell, width / cell] as [number, number], cell };
  return null;
}

/** The stride at which an h×w map covers an H×W input (the same on both axes), or null. */
export function mapStride(h: number, w: number, height: number | null, width: number | null): number | null {
  if (!height || !width || height % h !== 0 || width % w !== 0 || height / h !== width / w) return null;
  return height / h;
}

/** A model id from a file name: lower case, [a-z0-9._-], starting with a letter or digit. */
export function modelIdOf(file: string): string {
  const stem = file
    .toLowerCase()
    .replace(/\.gz$/, '')
    .replace(/\.onnx$/, '')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
  return stem || 'model';
}

const upsampleQuestion = (preferred: 'nearest' | 'bilinear', what: string): Question => ({
  field: 'upsample',
  kind: 'choice',
  options: ['nearest', 'bilinear', 'bilinear_align_corners'],
  default: preferred,
  reason: `how the overlay enlarges ${what} to the image: the graph does not say how the model was trained to be read`,
});
const layersQuestion = (layers: number): Question => ({
  field: 'layers',
  kind: 'list',
  default: Array.from({ length: layers }, (_, i) => i).join(', '),
  reason: `which of the model's layers the ${layers} entries of the layer axis are, in order (0 is the first block): the graph has no layer numbers`,
});
const teacherQuestion: Question = {
  field: 'teacher',
  kind: 'text',
  default: '',
  reason: 'the id of the teacher model whose width it is projected to: only you know',
};

const IGNORE_UNREAD = 'leave it out: AttnLens will not read it';

function inferInput(graph: OnnxGraph): {
  input: DraftInput;
  height: number | null;
  width: number | null;
  blockers: string[];
} {
  const blockers: string[] = [];
  const images = graph.inputs.filter((i) => i.dims?.length === 4);
  const first = images[0] ?? graph.inputs[0];
  const name: Proposal<string> = !first
    ? ask('', 'the graph has no input')
    : images.length > 1
      ? ask(first.name, `the graph has ${images.length} four-axis inputs: which one is the image?`)
      : inferred(first.name, `the graph's only image-shaped input (four axes)`);
  if (!images.length)
    blockers.push(
      first
        ? `input '${first.name}' is ${fmt(first.dims)}: AttnLens feeds one image as a four-axis tensor (NCHW or NHWC)`
        : 'the graph has no input: AttnLens feeds one image',
    );
  if (images.length && graph.inputs.length > 1)
    blockers.push(
      `the graph has ${graph.inputs.length} inputs (${graph.inputs.map((i) => i.name).join(', ')}): AttnLens feeds one image and nothing else`,
    );
  const dtype = first?.dtype ?? 'unknown';
  if (first && dtype !== 'float32' && dtype !== 'float16')
    blockers.push(
      `input '${first.name}' is ${dtype}: AttnLens feeds float32 or float16 images; export the model with a float input (and the conversion inside it)`,
    );
  const dims = first?.dims ?? null;
  const isChannels = (v: number | string | undefined) => v === 3 || v === 1;
  let layout: Proposal<'NCHW' | 'NHWC'>;
  if (dims?.length === 4 && isChannels(dims[1]) && !isChannels(dims[3]))
    layout = inferred('NCHW', `axis 1 of ${fmt(dims)} has ${dims[1]} channel${dims[1] === 1 ? '' : 's'}`);
  else if (dims?.length === 4 && isChannels(dims[3]) && !isChannels(dims[1]))
    layout = inferred('NHWC', `the last axis of ${fmt(dims)} has ${dims[3]} channel${dims[3] === 1 ? '' : 's'}`);
  else
    layout = ask(
      'NCHW',
      dims?.length === 4
        ? `${fmt(dims)}: the channel axis (1 or 3 wide) cannot be told from the shape`
        : 'the input has no four-axis shape',
    );
  const channels = dims?.length === 4 ? (layout.value === 'NCHW' ? dims[1] : dims[3]) : undefined;
  if (channels === 1)
    blockers.push(
      `input '${first!.name}' has 1 channel: AttnLens feeds RGB images (3 channels); export the model with a 3-channel input`,
    );
  const [h, w] = dims?.length === 4 ? (layout.value === 'NCHW' ? [dims[2], dims[3]] : [dims[1], dims[2]]) : [];
  const height = typeof h === 'number' ? h : null;
  const width = typeof w === 'number' ? w : null;
  const size: Proposal<[number, number] | null> =
    height && width
      ? inferred([height, width], `the graph fixes the input at ${height}×${width}`)
      : ask(null, 'the graph leaves the input size open: give the size the model was trained at');
  return {
    input: {
      name,
      names: images.map((i) => i.name),
      dtype,
      dims,
      layout,
      size,
      color: ask('RGB', 'RGB or BGR channel order: a graph does not say'),
      normalisation: ask(
        'imagenet',
        'the mean and standard deviation the model was trained with: a graph does not say (pick a preset or type them)',
      ),
      resize: ask(
        'stretch',
        'stretch the image to the input size, or letterbox it (keep its aspect): a graph does not say',
      ),
    },
    height,
    width,
    blockers,
  };
}

interface Site {
  name: string;
  channel: string;
  spatial: string;
  refined?: string;
  /** The tensor both gates reach first (the refined map, exported or not): what a connector projects. */
  joint: string;
  stride: number;
}

/** The prefix names share (split at '.', '/', ':'), its last part: 'cbam.backbone.channel' + '…spatial' → 'backbone'. */
function commonPart(names: string[]): string {
  const parts = names.map((n) => n.split(/[./:]/));
  const common: string[] = [];
  for (let i = 0; parts.every((p) => i < p.length - 1 && p[i] === parts[0][i]); i++) common.push(parts[0][i]);
  return common.at(-1)?.replace(/[^A-Za-z0-9._-]/g, '') ?? '';
}

interface OutputFacts {
  name: string;
  shape: number[] | null;
  producer: string | null;
  /** float32 or float16: what AttnLens reads. */
  float: boolean;
}

/**
 * CBAM sites, by following the graph: a [1, C] sigmoid and a [1, 1, h, w] sigmoid that gate the same features
 * (both reach one tensor through multiplications and broadcasts), each spatial gate paired with its nearest
 * channel gate; a [1, C, h, w] output the two reach is the site's refined map.
 */
function findSites(outputs: OutputFacts[], t: Topology, height: number | null, width: number | null): Site[] {
  const channelGates = outputs.filter(
    (o) => o.float && o.shape?.length === 2 && o.shape[1] > 1 && SIGMOIDS.has(o.producer ?? ''),
  );
  const spatialGates = outputs.filter(
    (o) =>
      o.float &&
      o.shape?.length === 4 &&
      o.shape[1] === 1 &&
      SIGMOIDS.has(o.producer ?? '') &&
      mapStride(o.shape[2], o.shape[3], height, width) !== null,
  );
  const reach = new Map(
    [...channelGates, ...spatialGates].map((g) => [g.name, reachForward(g.name, GATING, t)] as const),
  );
  const sites: Site[] = [];
  const taken = new Set<string>();
  for (const spatial of spatialGates) {
    const fromSpatial = reach.get(spatial.name)!;
    let best: { channel: OutputFacts; joint: string; distance: number; tie: boolean } | null = null;
    for (const channel of channelGates) {
      for (const [tensor, d] of reach.get(channel.name)!) {
        const ds = fromSpatial.get(tensor);
        if (ds === undefined || tensor === channel.name || tensor === spatial.name) continue;
        const distance = d + ds;
        if (!best || distance < best.distance) best = { channel, joint: tensor, distance, tie: false };
        else if (distance === best.distance && best.channel !== channel) best.tie = true;
      }
    }
    if (!best || best.tie || taken.has(best.channel.name)) continue;
    taken.add(best.channel.name);
    const [, , h, w] = spatial.shape!;
    const c = best.channel.shape![1];
    const fromChannel = reach.get(best.channel.name)!;
    const refined = outputs
      .filter((o) => o.shape?.join() === [1, c, h, w].join() && fromSpatial.has(o.name) && fromChannel.has(o.name))
      .sort((a, b) => fromSpatial.get(a.name)! - fromSpatial.get(b.name)!)[0];
    sites.push({
      name: '',
      channel: best.channel.name,
      spatial: spatial.name,
      refined: refined?.name,
      joint: refined?.name ?? best.joint,
      stride: mapStride(h, w, height, width)!,
    });
  }
  // names are labels for people: the members' shared name part, else site1, site2…
  const used = new Set<string>();
  sites.forEach((s, i) => {
    let name = commonPart([s.channel, s.spatial, ...(s.refined ? [s.refined] : [])]) || `site${i + 1}`;
    if (used.has(name)) name = `${name}-${i + 1}`;
    used.add(name);
    s.name = name;
  });
  return sites;
}

interface Vit {
  grid: [number, number];
  patch: number;
  heads: number;
  layers: number;
}

/** The ViT the attention outputs describe: [1, L, H, N] CLS rows or [1, L, H, T, T] matrices over the input's patches. */
function findVit(outputs: OutputFacts[], height: number | null, width: number | null): Vit | null {
  for (const { shape: s } of outputs) {
    let g: ReturnType<typeof tokenGrid> = null;
    if (s?.length === 5 && s[3] === s[4]) g = tokenGrid(s[4] - 1, height, width) ?? tokenGrid(s[4], height, width);
    else if (s?.length === 4 && s[2] !== s[3] && !mapStride(s[2], s[3], height, width))
      g = tokenGrid(s[3], height, width) ?? tokenGrid(s[3] - 1, height, width);
    if (s && g) return { grid: g.grid, patch: g.cell, heads: s[2], layers: s[1] };
  }
  return null;
}

const only = (reason: string): RoleChoice => ({ role: 'ignore', reason, fixed: {}, questions: [] });

interface Decision {
  choices: RoleChoice[];
  role: Proposal<DraftRole>;
}
const decided = (choice: RoleChoice, reason = choice.reason): Decision => ({
  choices: choice.role === 'ignore' ? [choice] : [choice, only(IGNORE_UNREAD)],
  role: inferred(choice.role, reason),
});
const ignored = (reason: string): Decision => ({ choices: [only(reason)], role: inferred('ignore', reason) });

/** Infer a draft contract from a model's graph; `file` is the model file's name as the user gave it. */
export function inferDraft(graph: OnnxGraph, file: string): DraftContract {
  const t = topology(graph);
  const { input, height, width, blockers } = inferInput(graph);
  const facts: OutputFacts[] = graph.outputs.map((o) => {
    const batchOpen = o.dims?.length && typeof o.dims[0] === 'string';
    const dims = o.dims && batchOpen ? [1, ...o.dims.slice(1)] : o.dims;
    const shape = dims?.every((d) => typeof d === 'number') ? (dims as number[]) : null;
    return {
      name: o.name,
      shape,
      producer: producerOf(o.name, t),
      float: o.dtype === 'float32' || o.dtype === 'float16',
    };
  });
  const sites = findSites(facts, t, height, width);
  const vit = findVit(facts, height, width);
  const decisions = new Map<string, Decision>();

  // CBAM sites: decided by the graph, so decided first
  for (const s of sites) {
    const where = `site '${s.name}'`;
    const channel = facts.find((o) => o.name === s.channel)!;
    const spatial = facts.find((o) => o.name === s.spatial)!;
    decisions.set(
      s.channel,
      decided({
        role: 'cbam_channel_gate',
        reason: `a [1, ${channel.shape![1]}] ${channel.producer} that, broadcast, multiplies the same features as the spatial gate ${s.spatial}: the channel gate of CBAM ${where}`,
        fixed: { site: s.name },
        questions: [],
      }),
    );
    decisions.set(
      s.spatial,
      decided({
        role: 'cbam_spatial_gate',
        reason: `a one-channel ${spatial.producer} map ${fmt(spatial.shape)} at stride ${s.stride} multiplying the features ${s.channel} gates: the spatial gate of CBAM ${where}`,
        fixed: { site: s.name, stride: s.stride },
        questions: [upsampleQuestion('bilinear', 'the gate')],
      }),
    );
    if (s.refined)
      decisions.set(
        s.refined,
        decided({
          role: 'cbam_refined',
          reason: `the features after both gates of ${where} (the graph multiplies them by ${s.channel} and ${s.spatial})`,
          fixed: { site: s.name, stride: s.stride },
          questions: [upsampleQuestion('bilinear', 'the map')],
        }),
      );
  }

  // query blocks: boxes [1, Q, 4] with the outputs of the same Q
  const blockQueries: number[] = [];
  const rank3 = facts.filter((o) => o.float && o.shape?.length === 3 && !decisions.has(o.name));
  for (const q of [...new Set(rank3.filter((o) => o.shape![2] === 4).map((o) => o.shape![1]))]) {
    const members = rank3.filter((o) => o.shape![1] === q);
    const boxes = members.filter((o) => o.shape![2] === 4);
    const attention = members.filter((o) => o.shape![2] !== 4 && tokenGrid(o.shape![2], height, width));
    const logits = members.filter((o) => o.shape![2] !== 4 && !attention.includes(o));
    const boxesChoice = (why: string): RoleChoice => ({
      role: 'boxes',
      reason: why,
      fixed: {},
      queries: q,
      questions: [
        {
          field: 'box_format',
          kind: 'choice',
          options: ['cxcywh_normalized', 'xyxy_normalized', 'xyxy_pixels'],
          default: 'cxcywh_normalized',
          reason: 'the order and unit of the 4 numbers: a graph does not say (DETRs write normalised cx, cy, w, h)',
        },
      ],
    });
    const logitsChoice = (columns: number, why: string, producer: string | null): RoleChoice => ({
      role: 'box_logits',
      reason: why,
      fixed: {},
      queries: q,
      questions: [
        {
          field: 'activation',
          kind: 'choice',
          options: ['sigmoid', 'softmax', 'softmax_no_object'],
          default: 'sigmoid',
          reason: `how a query's ${columns} columns become scores — sigmoid (each class on its own, focal-loss DETRs), softmax, or softmax whose last column is "no object" (the original DETR): a graph does not say${producer && /Sigmoid|Softmax/.test(producer) ? ` (the graph already ends in a ${producer}: the app applies the activation again)` : ''}`,
        },
      ],
    });
    const attentionChoice = (o: OutputFacts): RoleChoice => {
      const g = tokenGrid(o.shape![2], height, width)!;
      return {
        role: 'cross_attention',
        reason: `[1, ${q}, ${o.shape![2]}]: per query of the block, a weight for each of the ${g.grid[0]}×${g.grid[1]} cells of the input at stride ${g.cell} (decoder cross-attention)`,
        fixed: { grid: g.grid, stride: g.cell, layout: 'batch,query,key' },
        queries: q,
        questions: [upsampleQuestion('bilinear', 'the attention map')],
      };
    };
    if (boxes.length === 1 && logits.length === 1) {
      const [b] = boxes;
      const [l] = logits;
      decisions.set(
        b.name,
        decided(
          boxesChoice(
            `[1, ${q}, 4]: four box coordinates for each of ${q} queries, next to the class logits ${l.name} ${fmt(l.shape)}`,
          ),
        ),
      );
      decisions.set(
        l.name,
        decided(
          logitsChoice(
            l.shape![2],
            `[1, ${q}, ${l.shape![2]}]: class logits of the ${q} queries whose boxes are ${b.name}`,
            l.producer,
          ),
        ),
      );
      for (const a of attention) {
        const choice = attentionChoice(a);
        decisions.set(
          a.name,
          attention.length === 1
            ? decided(choice)
            : {
                choices: [choice, only(IGNORE_UNREAD)],
                role: ask(
                  'cross_attention',
                  `${attention.length} outputs of the block have this shape: which is the cross-attention?`,
                ),
              },
        );
      }
      blockQueries.push(q);
      continue;
    }
    // the shapes do not tell the block's members apart: every one is asked
    const why = `the outputs with ${q} queries (${members.map((m) => `${m.name} ${fmt(m.shape)}`).join(', ')}) cannot be told apart by shape: which are the boxes, which the class logits?`;
    let boxesTaken = false;
    let logitsTaken = false;
    const ordered = [...members].sort(
      (a, b) => Number(SIGMOIDS.has(b.producer ?? '')) - Number(SIGMOIDS.has(a.producer ?? '')),
    );
    for (const o of ordered) {
      const columns = o.shape![2];
      const choices: RoleChoice[] = [];
      if (columns === 4) choices.push(boxesChoice('four numbers per query: boxes, or the logits of 4 classes'));
      choices.push(logitsChoice(columns, `${columns} class logits per query`, o.producer));
      if (tokenGrid(columns, height, width)) choices.push(attentionChoice(o));
      choices.push(only(IGNORE_UNREAD));
      // defaults: a sigmoid-ended 4-wide output as the boxes (DETR's box head ends in one), then the logits
      let value: DraftRole = 'ignore';
      if (columns === 4 && !boxesTaken) {
        value = 'boxes';
        boxesTaken = true;
      } else if (choices.some((c) => c.role === 'box_logits') && !logitsTaken) {
        value = 'box_logits';
        logitsTaken = true;
      } else if (choices.some((c) => c.role === 'cross_attention')) value = 'cross_attention';
      decisions.set(o.name, { choices, role: ask(value, why) });
    }
    blockQueries.push(q);
  }
  const blocks = blockKinds(blockQueries);

  // the rest, output by output
  const segCandidates = facts.filter(
    (o) =>
      !decisions.has(o.name) &&
      o.shape?.length === 4 &&
      o.shape[1] > 1 &&
      o.shape[2] === height &&
      o.shape[3] === width,
  );
  for (const o of facts) {
    if (decisions.has(o.name)) continue;
    decisions.set(o.name, decideAlone(o, graph, { height, width, sites, vit, segCandidates, t }));
  }

  const outputs: DraftOutput[] = graph.outputs.map((g, i) => ({
    name: g.name,
    dims: g.dims,
    shape: facts[i].shape,
    dtype: g.dtype,
    producer: facts[i].producer,
    ...decisions.get(g.name)!,
  }));
  const classes = classCount(outputs);
  settleClassOutputs(outputs, classes.value);
  return {
    file,
    model: {
      id: modelIdOf(file),
      name: file.replace(/\.gz$/i, '').replace(/\.onnx$/i, ''),
      role: ask('student', 'teacher or student: a graph does not say'),
    },
    input,
    classes,
    blocks,
    outputs,
    blockers,
    signature: graphSignature(graph),
  };
}

/** One query block is the one-to-one block; of several, which is (and each other's k) is asked. */
function blockKinds(all: number[]): DraftBlock[] {
  const smallest = Math.min(...all);
  return all.map((queries) => {
    if (all.length === 1)
      return {
        queries,
        block: inferred('one_to_one', 'the only query block: the one whose queries are the detections'),
        k: inferred(1, 'a one-to-one block has no k'),
      };
    const many = queries !== smallest;
    const k = queries % smallest === 0 ? queries / smallest : 1;
    return {
      queries,
      block: ask(
        many ? 'one_to_many' : 'one_to_one',
        `${all.length} query blocks (${all.join(', ')} queries): which one makes the detections (one-to-one) cannot be read from the graph`,
      ),
      k: ask(k, 'a one-to-many block matched each object to k queries in training: a graph does not say how many'),
    };
  });
}

interface Context {
  height: number | null;
  width: number | null;
  sites: Site[];
  vit: Vit | null;
  segCandidates: OutputFacts[];
  t: Topology;
}

/** The roles one output's shape allows, outside CBAM sites and query blocks. */
function decideAlone(o: OutputFacts, graph: OnnxGraph, c: Context): Decision {
  const g = graph.outputs.find((x) => x.name === o.name)!;
  if (g.dtype !== 'float32' && g.dtype !== 'float16')
    return ignored(`it is ${g.dtype}: AttnLens reads float32 or float16 outputs only`);
  const s = o.shape;
  if (!s)
    return ignored(
      g.dims
        ? `its shape ${fmt(g.dims)} is not fixed: a contract declares each output's size (export with a fixed input size)`
        : "the graph gives it no shape: a contract declares each output's size (export with a fixed input size)",
    );
  if (s[0] !== 1) return ignored(`${fmt(s)} does not start with a batch axis of 1`);
  const { height, width } = c;
  const by = o.producer ? ` (computed by ${o.producer})` : '';

  if (s.length === 2) {
    const k = s[1];
    const what = SIGMOIDS.has(o.producer ?? '')
      ? `ends in a ${o.producer}: per-class probabilities, or a channel-only gate (squeeze-and-excitation: contract 1.4 channel_gate)`
      : o.producer === 'Softmax'
        ? 'ends in a Softmax: class probabilities (the app applies its softmax again; the top class stays), or a SAK router over paths'
        : `${k} values per image${by}: class logits, but softmax (one class per image) or sigmoid (each class on its own) cannot be read from the graph`;
    const gate: RoleChoice[] = SIGMOIDS.has(o.producer ?? '')
      ? [
          {
            role: 'channel_gate',
            reason: `a [1, ${k}] ${o.producer}: a channel-only gate (squeeze-and-excitation), its site named after the output`,
            fixed: { site: o.name },
            questions: [],
          },
        ]
      : [];
    return {
      choices: [
        ...gate,
        {
          role: 'class_logits',
          reason: `${k} class logits, softmax over them (one class per image)`,
          fixed: {},
          questions: [],
        },
        {
          role: 'multilabel_logits',
          reason: `${k} class logits, each a sigmoid (classes present or not)`,
          fixed: {},
          questions: [],
        },
        {
          role: 'router_weights',
          reason: `a SAK router's weights over ${k} paths (stem first, then one per teacher)`,
          fixed: {},
          questions: [
            {
              field: 'paths',
              kind: 'list',
              default: ['stem', ...Array.from({ length: k - 1 }, (_, i) => `teacher${i + 1}`)].join(', '),
              reason: `the ${k} paths in order (stem, then the teachers' model ids): a graph does not name them`,
            },
          ],
        },
        only(IGNORE_UNREAD),
      ],
      // settled once the class count is known (settleClassOutputs)
      role: ask('class_logits', `[1, ${k}] ${what}`),
    };
  }

  if (s.length === 3) {
    const [, a, b] = s;
    const choices: RoleChoice[] = [];
    const keys = tokenGrid(b, height, width);
    const tokens = tokenGrid(a, height, width);
    const sameVit = (grid: [number, number], patch: number) =>
      !c.vit || (c.vit.grid.join() === grid.join() && c.vit.patch === patch);
    if (keys && sameVit(keys.grid, keys.cell) && (!c.vit || c.vit.heads === a))
      choices.push({
        role: 'cls_key_cosine',
        reason: `[1, ${a}, ${b}]: per head, a score of each of the ${keys.grid[0]}×${keys.grid[1]} patches (CST's CLS–key cosine) — or one layer's CLS attention, which is not a role; values cannot be read from the graph`,
        fixed: {
          layout: 'batch,head,key',
          grid: keys.grid,
          patch: keys.cell,
          cls_token: 'leads',
          keys: 'patches',
        },
        questions: [
          {
            field: 'layer',
            kind: 'int',
            default: String(c.vit ? c.vit.layers - 1 : 0),
            reason: 'the layer the cosine is taken at: a graph does not say',
          },
          upsampleQuestion('bilinear', 'the score map'),
        ],
      });
    if (tokens && sameVit(tokens.grid, tokens.cell))
      choices.push({
        role: 'token_features',
        reason: `[1, ${a}, ${b}]: ${b} channels for each of the ${tokens.grid[0]}×${tokens.grid[1]} patches of ${tokens.cell} px${c.vit ? ', the grid of its ViT attention' : ''}: patch tokens`,
        fixed: { layout: 'batch,token,channel', grid: tokens.grid, patch: tokens.cell },
        questions: [],
      });
    if (!choices.length)
      return ignored(
        `${fmt(s)}${by} fits no output role AttnLens reads (no boxes [1, ${a}, 4] beside it; ${b} is not a patch grid of the input)`,
      );
    const tokensChoice = choices.find((x) => x.role === 'token_features');
    if (tokensChoice && c.vit && choices.length === 1) return decided(tokensChoice);
    const cosine = choices.find((x) => x.role === 'cls_key_cosine');
    const why = choices.map((x) => x.reason).join('; or ');
    choices.push(only(IGNORE_UNREAD));
    return {
      choices,
      // a cosine of its ViT's shape is offered (values are not guessed: it stays asked); anything else is left out
      role: ask(cosine && c.vit && o.producer !== 'Softmax' ? 'cls_key_cosine' : 'ignore', `${why}${by}`),
    };
  }

  if (s.length === 4) {
    const [, a, h, w] = s;
    if (h === height && w === width && a > 1) {
      const choice: RoleChoice = {
        role: 'segmentation_logits',
        reason: `shape ${fmt(s)} fits segmentation logits with ${a} classes at the input size`,
        fixed: { layout: 'NCHW' },
        questions: [],
      };
      if (c.segCandidates.length === 1) return decided(choice);
      return {
        choices: [choice, only(IGNORE_UNREAD)],
        role: ask(
          c.segCandidates[0] === o ? 'segmentation_logits' : 'ignore',
          `${c.segCandidates.length} outputs (${c.segCandidates.map((x) => x.name).join(', ')}) fit segmentation logits at the input size: which is the model's segmentation?`,
        ),
      };
    }
    if (a === height && h === width && w > 1)
      return ignored(
        `${fmt(s)} looks like segmentation logits with ${w} classes, channels last: a contract declares segmentation logits as [1, C, H, W] (NCHW); export them transposed`,
      );
    if (h === 1 && w === 1 && SIGMOIDS.has(o.producer ?? ''))
      return ignored(
        `a channel gate shaped ${fmt(s)}${by}: a contract declares a channel gate as [1, C] (export it flattened to declare it as a channel_gate)`,
      );
    const stride = mapStride(h, w, height, width);
    if (stride && a === 1)
      return ignored(
        `a one-channel map at stride ${stride}${by}, with no [1, C] sigmoid gating the same features: a spatial gate alone cannot be declared (contract 1.3 declares gates only as a CBAM site, both gates)`,
      );
    if (stride) {
      const joints = new Map(c.sites.map((site) => [site.joint, site]));
      const from = reachesBack(o.name, new Set(joints.keys()), CONNECTOR, c.t);
      const site = from ? joints.get(from)! : null;
      const choices: RoleChoice[] = [];
      if (site && site.stride === stride)
        choices.push({
          role: 'attnfd_projected',
          reason: `a convolution of CBAM site '${site.name}'s refined map to ${a} channels: an AttnFD connector to a teacher's width?`,
          fixed: { site: site.name, stride },
          questions: [teacherQuestion, upsampleQuestion('bilinear', 'the map')],
        });
      choices.push(
        {
          role: 'adapter_features',
          reason: `a [1, ${a}, ${h}, ${w}] feature map at stride ${stride}: a SAK adapter path projected to a teacher's width?`,
          fixed: { stride },
          questions: [
            { ...teacherQuestion, reason: 'the id of the teacher this path was trained to match: only you know' },
            {
              field: 'teacher_output',
              kind: 'text',
              default: '',
              reason: "the teacher's output it is compared with (e.g. its refined map): only you know",
            },
            upsampleQuestion('bilinear', 'the map'),
          ],
        },
        only(IGNORE_UNREAD),
      );
      return {
        choices,
        role: ask(
          'ignore',
          `a feature map ${fmt(s)} at stride ${stride}${by}: AttnLens reads one only as an AttnFD projection or a SAK adapter path, which name their teacher`,
        ),
      };
    }
    if (h === w) {
      const grid = tokenGrid(h, height, width);
      if (grid)
        return decided({
          role: 'encoder_attention',
          reason: `square [1, ${a}, ${h}, ${h}] over the ${grid.grid[0]}×${grid.grid[1]} cells of the input at stride ${grid.cell}${by}: an encoder layer's attention, per head`,
          fixed: { grid: grid.grid, stride: grid.cell, layout: 'batch,head,query,key' },
          questions: [upsampleQuestion('bilinear', 'the attention map')],
        });
      if (tokenGrid(h - 1, height, width))
        return ignored(
          `square [1, ${a}, ${h}, ${h}] over a CLS token and the patches: one layer's ViT attention, which a contract declares only as self_attention [1, L, H, T, T] (every layer)`,
        );
    }
    const patches = tokenGrid(w, height, width);
    const all = tokenGrid(w - 1, height, width);
    if (patches || all) {
      const grid = (patches ?? all)!;
      const choice: RoleChoice = {
        role: 'cls_attention',
        reason: `[1, ${a}, ${h}, ${w}]: for ${a} layers and ${h} heads, a row over the ${grid.grid[0]}×${grid.grid[1]} patches of ${grid.cell} px${patches ? '' : ' and the CLS token'}${by}: CLS attention`,
        fixed: {
          layout: 'batch,layer,head,key',
          grid: grid.grid,
          patch: grid.cell,
          cls_token: 'leads',
          keys: patches ? 'patches' : 'all_tokens',
        },
        questions: [layersQuestion(a), upsampleQuestion('nearest', 'the patch map')],
      };
      return o.producer === 'Softmax'
        ? decided(choice)
        : {
            choices: [choice, only(IGNORE_UNREAD)],
            role: ask(
              'cls_attention',
              `${choice.reason}; not a Softmax's output, so whether these are attention weights is asked`,
            ),
          };
    }
    return ignored(`${fmt(s)}${by} fits no output role AttnLens reads at the ${height ?? '?'}×${width ?? '?'} input`);
  }

  if (s.length === 5 && s[3] === s[4]) {
    const [, layers, heads, tokens] = s;
    const withCls = tokenGrid(tokens - 1, height, width);
    const grid = withCls ?? tokenGrid(tokens, height, width);
    if (grid) {
      const choice: RoleChoice = {
        role: 'self_attention',
        reason: `[1, ${layers}, ${heads}, ${tokens}, ${tokens}]: for ${layers} layers and ${heads} heads, attention of every token over every token (${withCls ? 'a CLS token and ' : ''}${grid.grid[0]}×${grid.grid[1]} patches of ${grid.cell} px)${by}`,
        fixed: {
          layout: 'batch,layer,head,query,key',
          grid: grid.grid,
          patch: grid.cell,
          cls_token: withCls ? 'leads' : 'none',
        },
        questions: [layersQuestion(layers), upsampleQuestion('nearest', 'the patch map')],
      };
      return o.producer === 'Softmax'
        ? decided(choice)
        : {
            choices: [choice, only(IGNORE_UNREAD)],
            role: ask(
              'self_attention',
              `${choice.reason}; not a Softmax's output, so whether these are attention weights is asked`,
            ),
          };
    }
  }
  return ignored(`${fmt(s)}${by} fits no output role AttnLens reads`);
}

const CLASS_ROLES = new Set<DraftRole>(['segmentation_logits', 'box_logits', 'class_logits', 'multilabel_logits']);

/** Class columns of an output in a role (box logits: with the default sigmoid, every column is a class). */
export const classColumns = (o: Pick<DraftOutput, 'shape'>, role: DraftRole): number | null =>
  !o.shape || !CLASS_ROLES.has(role) ? null : role === 'box_logits' ? o.shape[2] : o.shape[1];

/** How many classes the proposed outputs carry: segmentation logits first, then a block's logits, then a vector. */
function classCount(outputs: DraftOutput[]): Proposal<number> {
  const by = (role: DraftRole) => outputs.find((o) => o.role.value === role);
  const seg = by('segmentation_logits');
  if (seg) return inferred(seg.shape![1], `${seg.name} has ${seg.shape![1]} class channels`);
  const box = by('box_logits');
  if (box)
    return ask(
      box.shape![2],
      `${box.name} has ${box.shape![2]} columns: as many classes with a sigmoid, one fewer if its last column is "no object"`,
    );
  const vector = outputs.find((o) => o.role.value === 'class_logits' && o.shape);
  if (vector) return inferred(vector.shape![1], `${vector.name} has ${vector.shape![1]} class columns`);
  return inferred(1, 'no output carries classes; a contract lists at least one');
}

/**
 * [1, K] vectors whose K is not the class count (nor one less: a background without a column) are more
 * likely something else: their default becomes 'ignore' (still asked).
 */
function settleClassOutputs(outputs: DraftOutput[], classes: number): void {
  for (const o of outputs) {
    if (o.shape?.length !== 2 || o.role.certainty !== 'ask' || o.role.value !== 'class_logits') continue;
    const k = o.shape[1];
    if (k !== classes && k !== classes - 1)
      o.role = ask(
        'ignore',
        `${o.role.reason}; its ${k} columns do not match the ${classes} classes of the other outputs`,
      );
  }
}

/** Contract fields an output's chosen role takes from the draft (before the user's answers). */
export const fixedFields = (o: DraftOutput, role: DraftRole): Partial<ContractOutput> =>
  o.choices.find((c) => c.role === role)?.fixed ?? {};
