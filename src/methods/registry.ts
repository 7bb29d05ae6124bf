/**
 * The methods the app knows, in the order their views appear. The app renders those that apply to the models
 * in view; the outputs each run brings (and those the worker keeps) and the link's method parameters are
 * derived from this list. Adding a method: its folder, and one line here.
 */
import type { Contract } from '../contract';
import { attnfd } from './attnfd';
import { seGates } from './channel-gates';
import { detrQueries } from './detr-queries';
import { groundTruth } from './ground-truth';
import { hdetr } from './hdetr';
import { ks } from './ks-detr';
import { sak } from './sak';
import { saliency } from './saliency';
import type { MethodSpec, ModelInView } from './types';
import { vit } from './vit';

export const METHODS = [detrQueries, attnfd, seGates, vit, groundTruth, hdetr, ks, sak, saliency] as const;

type Method = (typeof METHODS)[number];
type SettingsOf<M> = M extends MethodSpec<infer S> ? S : never;

/** Every method's settings, by method id (the methods that have settings). */
// biome-ignore lint/complexity/noBannedTypes: `{}` here tests for "no settings"
export type MethodSettings = { [M in Method as {} extends SettingsOf<M> ? never : M['id']]: SettingsOf<M> };

export const METHOD_DEFAULTS = Object.fromEntries(
  METHODS.filter((m) => m.link).map((m) => [m.id, m.link!.defaults]),
) as MethodSettings;

/** Outputs a model's runs bring to the page: every method's, so a run serves every view. */
export const pageOutputs = (c: Contract): string[] => [...new Set(METHODS.flatMap((m) => m.outputs(c).page))];

/**
 * Outputs a model's runs must bring to the page for the views the models in view show (`models` includes the
 * model itself): what a GPU session reads back; the rest of `pageOutputs` can wait in the worker until a view
 * that needs it appears.
 */
export const shownOutputs = (c: Contract, models: ModelInView[]): string[] => [
  ...new Set(METHODS.filter((m) => m.applies(models) === null).flatMap((m) => m.outputs(c).page)),
];

/** Outputs a model's runs leave in the worker (on the GPU for a WebGPU session). */
export const workerOutputs = (c: Contract): string[] => [...new Set(METHODS.flatMap((m) => m.outputs(c).worker ?? []))];
