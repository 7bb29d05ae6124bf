import { readFileSync } from 'node:fs';
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';
import {
  CROSS_ORIGIN_ISOLATION,
  CSP,
  contentSecurityPolicy,
  contractValidator,
  hostHeaders,
} from './scripts/vite-plugins.ts';

const version = (path: string) => JSON.stringify(JSON.parse(readFileSync(path, 'utf8')).version);

export default defineConfig({
  // Relative URLs in the build (assets, workers, onnxruntime-web's WebAssembly, models, samples), so `dist/`
  // works from any static host under any path (docs/hosting.md). `vite` dev still serves at `/`.
  base: './',
  // What a results file records about the app that wrote it.
  define: {
    __APP_VERSION__: version('package.json'),
    __ORT_VERSION__: version('node_modules/onnxruntime-web/package.json'),
  },
  plugins: [react(), tailwindcss(), contractValidator(), contentSecurityPolicy(), hostHeaders()],
  optimizeDeps: {
    exclude: ['onnxruntime-web'],
    // The dev server pre-bundles what it finds from index.html; the inference worker's imports (tfjs) it would
    // only find when a model first runs, and then reloads the page — losing every image the user had dropped.
    entries: ['index.html', 'src/inference/runtime.worker.ts'],
  },
  // ES-module workers, so a model worker loads only the onnxruntime-web build (and tfjs) it uses as chunks.
  worker: { format: 'es' },
  // Cross-origin isolated (COOP + COEP), so onnxruntime-web can run WASM threads (src/inference/threads.ts).
  server: { headers: { ...CROSS_ORIGIN_ISOLATION } },
  // The built app's policy also as a header, so it covers the inference worker's script too; and isolated.
  preview: { headers: { 'Content-Security-Policy': CSP, ...CROSS_ORIGIN_ISOLATION } },
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Model runs are CPU-heavy on a 2-core machine: one file at a time keeps timings sane.
    fileParallelism: false,
  },
});
