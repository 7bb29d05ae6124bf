/** Contracts for tests: the plain parts every test contract shares, so a test spells out only what it is about. */
import type { Contract, ContractClass, ContractInput, ContractOutput } from './types';

/** An RGB float32 NCHW input of height×width, pixels scaled to [0, 1] and not normalised further. */
export function plainInput(height: number, width: number, resize: ContractInput['resize']): ContractInput {
  return {
    name: 'image',
    shape: [1, 3, height, width],
    layout: 'NCHW',
    dtype: 'float32',
    color: 'RGB',
    scale: 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    resize,
  };
}

export interface TestContractParts {
  model: Pick<Contract['model'], 'id' | 'task' | 'role' | 'family'> & Partial<Contract['model']>;
  input: ContractInput;
  outputs: ContractOutput[];
  classes?: ContractClass[];
}

/** A version-1.3 contract around the given parts (one class 'thing' unless classes are given). */
export function testContract({ model, input, outputs, classes }: TestContractParts): Contract {
  return {
    format: 'attnlens-contract',
    version: '1.3',
    model: { name: model.id, ...model },
    input,
    classes: classes ?? [{ id: 0, name: 'thing', color: '#ff0000' }],
    outputs,
  };
}
