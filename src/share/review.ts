/** Review mode's state: open or not (the page's own arrow keys step images only when it is closed). */
import { create } from 'zustand';

export const useReview = create<{ open: boolean; setOpen: (open: boolean) => void }>((set) => ({
  open: false,
  setOpen: (open) => set({ open }),
}));
