/** What a captured graph's runs bring to the page, what they leave in the worker, and what a run lacks later. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Contract, loadContract } from '../contract';
import { pageOutputs } from '../methods/registry';
import { lacking, outputsToBring } from './readback';
import { taskOutputs } from './task';

const zoo = (id: string) => ({
  id,
  contract: (
    loadContract(new Uint8Array(readFileSync(join(__dirname, `../../public/models/${id}.onnx`)))) as {
      contract: Contract;
    }
  ).contract,
});
const vit = zoo('vit-attn');
const sak = zoo('sak-student');
const teacher = zoo('seg-teacher');
const detr = zoo('detr-teacher');
const all = (c: Contract) => [...new Set([...taskOutputs(c), ...pageOutputs(c)])];

describe('outputsToBring', () => {
  it('a session that is not captured brings every output any view could draw, as before', () => {
    for (const m of [vit, sak, teacher, detr])
      expect(outputsToBring(m.contract, false, [m])).toEqual({ bring: all(m.contract), holdBack: [] });
  });
  it('a captured ViT alone: its patch tokens (only the SAK view reads them) stay in the worker', () => {
    const { bring, holdBack } = outputsToBring(vit.contract, true, [vit]);
    expect(holdBack).toEqual(['patch_tokens']);
    expect(bring).toContain('label_logits');
    expect(bring).toContain('cls_attention');
    expect([...bring, ...holdBack].sort()).toEqual(all(vit.contract).sort());
  });
  it('with the SAK student in view, the SAK view needs them: brought', () => {
    expect(outputsToBring(vit.contract, true, [sak, teacher, vit]).holdBack).toEqual([]);
  });
  it('every view of a lone model reads its own outputs: a zoo teacher holds nothing back', () => {
    expect(outputsToBring(teacher.contract, true, [teacher]).holdBack).toEqual([]);
    expect(outputsToBring(detr.contract, true, [detr]).holdBack).toEqual([]);
  });
});

describe('lacking', () => {
  it('a run made before the SAK student loaded lacks the patch tokens the SAK view now needs', () => {
    const outputs = Object.fromEntries(
      outputsToBring(vit.contract, true, [vit]).bring.map((n) => [n, { data: new Float32Array(1), dims: [1] }]),
    );
    expect(lacking({ outputs }, vit.contract, [vit])).toEqual([]);
    expect(lacking({ outputs }, vit.contract, [sak, teacher, vit])).toEqual(['patch_tokens']);
  });
});
