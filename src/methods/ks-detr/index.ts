/** KS-DETR: how much attention lands on the ground-truth foreground, per model and head. */
import { lazy } from 'react';
import { type Codec, type LinkSlice, numbers, oneOf } from '../../state/linkCodec';
import { encoderAttention } from '../detr/contract';
import { type MethodSpec, someModel } from '../types';

export interface KsSettings {
  /** Which attention is set against the fg mask: the encoder mean, a clicked location's row, or the clicked query's. */
  source: 'mean' | 'point' | 'query';
  /** The clicked image point (pixels) for 'point'. */
  point: [number, number] | null;
}

const pixelPoint = numbers(2, 0, 1e5, 'two pixel coordinates');
const pointCodec: Codec<[number, number] | null> = {
  encode: (v) => (v ? pixelPoint.encode(v) : ''),
  decode: (raw) => pixelPoint.decode(raw) as [number, number] | undefined,
  expected: pixelPoint.expected,
};

const link: LinkSlice<KsSettings> = {
  defaults: { source: 'mean', point: null },
  params: [
    {
      key: 'ks',
      field: 'source',
      label: 'KS-DETR attention source',
      codec: oneOf(['mean', 'point', 'query'] as const),
    },
    { key: 'pt', field: 'point', label: 'point', codec: pointCodec },
  ],
};

export const ks: MethodSpec<KsSettings> & { id: 'ks' } = {
  id: 'ks',
  title: 'KS-DETR: attention on the foreground',
  applies: (models) =>
    someModel(
      models,
      encoderAttention,
      'no model in view exports encoder self-attention over a grid (encoder_attention)',
    ),
  outputs: (c) => {
    const enc = encoderAttention(c);
    return { page: enc ? [enc.name] : [] };
  },
  link,
  View: lazy(() => import('./KsView')),
};
