/** What the DETR views share: the detectors in view, the ground truth in use, the selected query's rows. */
import { useMemo } from 'react';
import type { Detection } from '../../analysis/boxes';
import { cocoObjects, type GtSource, resolveGroundTruth } from '../../analysis/groundTruth';
import { describeMatch, type MatchRule, matchQuery, queryRow } from '../../analysis/queries';
import { galleryObjects, useGalleryCoco } from '../../app/gallery';
import { detectionThreshold } from '../../app/task';
import { useModelsInView, useRuns, useTaskResult } from '../../components/hooks';
import type { Contract, ContractOutput } from '../../contract';
import { useGroundTruthStore } from '../../state/groundTruth';
import { type ImageEntry, useStore } from '../../state/store';
import type { ModelInView } from '../types';
import { type BlockName, blockQueries, isDetector, queryBlock } from './contract';

/** Models in the view with a one-to-one query block, left to right. */
export function useDetectors(): ModelInView[] {
  const models = useModelsInView();
  return useMemo(() => models.filter((m) => isDetector(m.contract)), [models]);
}

/** The model whose detections serve as pseudo ground truth: the first teacher detector, else the first detector. */
export function usePseudoModel(): string | undefined {
  const detectors = useDetectors();
  return (detectors.find((m) => m.contract.model.role === 'teacher') ?? detectors[0])?.id;
}

/** The ground truth the detection views use for this image (drawn > imported COCO > gallery COCO > teacher). */
export function useGroundTruth(image: ImageEntry | undefined): GtSource | null {
  const pseudoModel = usePseudoModel();
  const pseudo = useTaskResult(pseudoModel, image);
  const classes = useStore((s) => (pseudoModel ? s.slots[pseudoModel]?.model?.contract.classes : undefined));
  const drawn = useGroundTruthStore((s) => (image ? s.drawn[image.id] : undefined));
  const imported = useGroundTruthStore((s) => s.imported);
  const coco = useGalleryCoco();
  return useMemo(() => {
    if (!image) return null;
    return resolveGroundTruth({
      drawn,
      imported: imported && { file: imported.file, objects: cocoObjects(imported.coco, image.name, classes) },
      gallery: galleryObjects(coco, image),
      pseudo: pseudo?.kind === 'detection' && pseudoModel ? { model: pseudoModel, objects: pseudo.detections } : null,
    });
  }, [image, drawn, imported, classes, coco, pseudo, pseudoModel]);
}

export interface QueryAttention {
  id: string;
  contract: Contract;
  block: BlockName;
  detection: Detection;
  rule: MatchRule;
  /** How this model's query was chosen, in words. */
  how: string;
  cross: ContractOutput | null;
  /** Its cross-attention row [N] over the grid (head mean, last decoder layer), or null if not exported. */
  row: Float32Array | null;
}

/**
 * The selected query (a clicked detection) and, for every other detector shown, its query for the same object:
 * same block where it has one, else its one-to-one block. Null until a detection is selected and has run.
 */
export function useQueryAttention(image: ImageEntry | undefined): { items: QueryAttention[]; problem?: string } | null {
  const selection = useStore((s) => s.view.selection);
  const userThreshold = useStore((s) => s.view.threshold);
  const detectors = useDetectors();
  const runs = useRuns(image);
  return useMemo(() => {
    if (!selection || !image) return null;
    const src = detectors.find((d) => d.id === selection.model);
    if (!src)
      return {
        items: [],
        problem: `the selected query belongs to ${selection.model}, which is not a detector in view`,
      };
    const srcRun = runs[src.id];
    if (!srcRun) return null;
    const srcBlock = queryBlock(src.contract, selection.block);
    const target = srcBlock && blockQueries(srcBlock, srcRun).find((d) => d.query === selection.query);
    if (!target)
      return {
        items: [],
        problem: `${selection.model} has no query ${selection.query} in its ${selection.block.replace(/_/g, '-')} block`,
      };
    const items: QueryAttention[] = [];
    for (const { id, contract } of detectors) {
      const run = runs[id];
      if (!run) continue;
      const blockName: BlockName =
        id === selection.model
          ? selection.block
          : queryBlock(contract, selection.block)
            ? selection.block
            : 'one_to_one';
      const block = queryBlock(contract, blockName)!;
      const m =
        id === selection.model
          ? { detection: target, iou: 1, rule: 'same-query' as const }
          : matchQuery(target, blockQueries(block, run), detectionThreshold(contract, userThreshold).value);
      if (!m) continue;
      const t = block.cross && run.outputs[block.cross.name];
      items.push({
        id,
        contract,
        block: blockName,
        detection: m.detection,
        rule: m.rule,
        how: describeMatch(m),
        cross: block.cross ?? null,
        row: t ? queryRow(t.data, t.dims[1], m.detection.query) : null,
      });
    }
    return { items };
  }, [selection, image, detectors, runs, userThreshold]);
}
