/**
 * A method's home declares what it needs and offers (LIT's shouldDisplayModule, FiftyOne's activator): which
 * models it applies to — or why not, in words —, the outputs it reads, its slice of the link, and its view.
 */
import type { ComponentType, LazyExoticComponent } from 'react';
import type { Contract } from '../contract';
import type { LinkSlice } from '../state/linkCodec';

/** A model loaded in the view, left to right. */
export interface ModelInView {
  id: string;
  contract: Contract;
}

export interface MethodOutputs {
  /** Brought to the page with each run. */
  page: string[];
  /** Kept in the inference worker (on the GPU for a WebGPU session): only the worker's own maths reads them. */
  worker?: string[];
}

export interface MethodSpec<S extends object = object> {
  id: string;
  title: string;
  /** null when the method has something to show for these models; else why not, in words. */
  applies(models: ModelInView[]): string | null;
  outputs(contract: Contract): MethodOutputs;
  /** The method's settings and their link parameters (keys unique across the registry). */
  link?: LinkSlice<S>;
  View: LazyExoticComponent<ComponentType>;
}

/** Helper for `applies`: null when some model passes `has`, else the reason. */
export const someModel = (models: ModelInView[], has: (c: Contract) => unknown, reason: string): string | null =>
  models.some((m) => has(m.contract)) ? null : reason;
