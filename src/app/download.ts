/** Save a blob as a file (the browser's download), then free its URL. */
export function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export const json = (value: unknown) => new Blob([JSON.stringify(value)], { type: 'application/json' });
