/** Channel-only gates (squeeze-and-excitation, contract 1.4 `channel_gate`): each site's gates, teacher and student. */
import { lazy } from 'react';
import type { Contract, ContractOutput } from '../../contract';
import { type MethodSpec, someModel } from '../types';

export const channelGates = (c: Contract): ContractOutput[] => c.outputs.filter((o) => o.role === 'channel_gate');

export const seGates: MethodSpec & { id: 'channel-gates' } = {
  id: 'channel-gates',
  title: 'Channel gates (squeeze-and-excitation)',
  applies: (models) =>
    someModel(models, (c) => channelGates(c).length, 'no model in view declares a channel-only gate (channel_gate)'),
  outputs: (c) => ({ page: channelGates(c).map((o) => o.name) }),
  View: lazy(() => import('./ChannelGatesView')),
};
