/**
 * Findings: notes a reviewer pins to an image, a region of it or a view ("the student misses scratches at the
 * belt edge"). Each keeps the view it was pinned on (the link fragment and the zoom), so stepping through the
 * findings — in the app, in review mode, in a report — shows exactly what its author saw.
 */
import { create } from 'zustand';
import type { Box } from '../analysis/boxes';
import type { ZoomState } from '../state/store';

export type FindingScope = 'image' | 'region' | 'view';

export interface Finding {
  id: string;
  text: string;
  /** ISO 8601 time it was pinned. */
  created: string;
  scope: FindingScope;
  /** The view's link fragment when pinned (models, image, every setting). */
  hash: string;
  zoom: ZoomState;
  /** The image it is about: content id and file name. */
  image: { id: string; name: string };
  /** The part of the image in view when pinned (image pixels); null: the whole image. */
  region: Box | null;
}

/** Longest note kept (a finding is a sentence or a paragraph, not a document). */
export const MAX_FINDING_CHARS = 2000;
/** Most findings kept: a review has a handful; the bound keeps links and files small. */
export const MAX_FINDINGS = 100;

interface FindingsStore {
  findings: Finding[];
  /** The finding shown last (stepping, review mode); -1: none. */
  at: number;
  add: (finding: Omit<Finding, 'id' | 'created'>) => Finding | null;
  edit: (id: string, text: string) => void;
  remove: (id: string) => void;
  /** Replace them all (a link or an .attnlens file opened). */
  replace: (findings: Finding[]) => void;
  setAt: (at: number) => void;
}

const newId = () =>
  typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID().slice(0, 8)
    : Math.random().toString(16).slice(2, 10);

export const useFindings = create<FindingsStore>((set, get) => ({
  findings: [],
  at: -1,
  add: (f) => {
    const text = f.text.trim().slice(0, MAX_FINDING_CHARS);
    if (!text || get().findings.length >= MAX_FINDINGS) return null;
    const finding: Finding = { ...f, text, id: newId(), created: new Date().toISOString() };
    set((s) => ({ findings: [...s.findings, finding], at: s.findings.length }));
    return finding;
  },
  edit: (id, text) =>
    set((s) => ({
      findings: s.findings.map((f) => (f.id === id ? { ...f, text: text.slice(0, MAX_FINDING_CHARS) } : f)),
    })),
  remove: (id) =>
    set((s) => {
      const findings = s.findings.filter((f) => f.id !== id);
      return { findings, at: Math.min(s.at, findings.length - 1) };
    }),
  replace: (findings) => set({ findings: findings.slice(0, MAX_FINDINGS), at: findings.length ? 0 : -1 }),
  setAt: (at) => set({ at }),
}));

/** The part of a width×height image the panes show at zoom z (translation in pane fractions), in image pixels. */
export function visibleRegion(z: ZoomState, width: number, height: number): Box {
  const clamp = (v: number, hi: number) => Math.max(0, Math.min(hi, v));
  return {
    x0: clamp((-z.x / z.k) * width, width),
    y0: clamp((-z.y / z.k) * height, height),
    x1: clamp(((1 - z.x) / z.k) * width, width),
    y1: clamp(((1 - z.y) / z.k) * height, height),
  };
}
