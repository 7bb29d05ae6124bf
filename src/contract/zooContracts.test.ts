/** The zoo's contracts as the app reads them: recommended thresholds (1.3), no warnings, letterbox variants. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadContract, recommendedScoreThreshold } from './index';

const root = join(__dirname, '../..');
const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8')) as {
  models: { id: string; file: string; task: string; score_threshold?: { value: number } }[];
  variants?: { id: string; file: string; of: string; letterbox_fill: number[] }[];
};
const read = (file: string) => {
  const r = loadContract(new Uint8Array(readFileSync(join(root, 'public', file))));
  if (!r.ok) throw new Error(r.problem);
  return r;
};

describe('zoo contracts', () => {
  it.each(index.models)(
    '$id: no warnings; a detector carries the threshold index.json records',
    ({ file, task, score_threshold }) => {
      const r = read(file);
      expect(r.warnings).toEqual([]);
      if (task === 'detection') {
        expect(r.contract.version).toBe('1.3');
        expect(recommendedScoreThreshold(r.contract)).toBe(score_threshold!.value);
      } else {
        expect(recommendedScoreThreshold(r.contract)).toBeNull();
      }
    },
  );
  it('lists the letterbox variants outside the menu, each a valid letterbox contract of its model', () => {
    expect((index.variants ?? []).map((v) => v.id).sort()).toEqual([
      'detr-teacher-letterbox',
      'seg-student-attnfd-letterbox',
    ]);
    for (const v of index.variants ?? []) {
      const c = read(v.file).contract;
      const of = read(index.models.find((m) => m.id === v.of)!.file).contract;
      expect(c.model.id).toBe(v.id);
      expect(c.input).toEqual({ ...of.input, resize: 'letterbox', letterbox_fill: v.letterbox_fill });
      expect(c.outputs).toEqual(of.outputs);
      expect(index.models.some((m) => m.id === v.id)).toBe(false);
    }
  });
});
