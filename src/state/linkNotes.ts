/**
 * What the last link followed named that the app could not show as named — malformed values, more than the
 * app shows, models, images, layers or queries that do not exist — in words, for the one notice under the
 * controls. Replaced whenever a link is followed (a reload, a pasted link); the rest of the link is honoured.
 */
import { create } from 'zustand';
import { initialLinkProblems } from './store';

/** Most notes kept: a link has a bounded number of parameters, and this bounds the rest. */
const MAX_NOTES = 40;

interface LinkNotes {
  notes: string[];
  /** The user closed the notice; it opens again with the next link. */
  dismissed: boolean;
  /** A link was followed: its decoding problems replace the previous link's notes. */
  follow: (problems: string[]) => void;
  /** A note found later, once the zoo, the gallery or a model is known. */
  add: (note: string) => void;
  dismiss: () => void;
}

export const useLinkNotes = create<LinkNotes>((set) => ({
  notes: initialLinkProblems.slice(0, MAX_NOTES),
  dismissed: false,
  follow: (problems) => set({ notes: problems.slice(0, MAX_NOTES), dismissed: false }),
  add: (note) =>
    set((s) => (s.notes.includes(note) || s.notes.length >= MAX_NOTES ? s : { notes: [...s.notes, note] })),
  dismiss: () => set({ dismissed: true }),
}));
