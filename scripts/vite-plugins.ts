/**
 * Build-time pieces of the app's strict Content-Security-Policy (see docs/contract.md and README):
 * - `contractValidator`: the JSON Schemas (the model contract, the data-set results file) compiled by Ajv *at
 *   build (and test) time* into plain ESM (Ajv standalone code), served as the virtual modules
 *   `virtual:attnlens-contract-validator`, `virtual:attnlens-results-validator` and `virtual:attnlens-view-validator`. Ajv compiling at run time
 *   would need `new Function`, which the policy forbids.
 * - `contentSecurityPolicy`: the policy, as a `<meta http-equiv>` in the built index.html (any static host) and
 *   as a response header of `vite preview` (which also covers the inference worker's script: a worker obeys
 *   the policy of its own script response, not the page's meta tag).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import type { Plugin } from 'vite';

export const CONTRACT_VALIDATOR_ID = 'virtual:attnlens-contract-validator';
export const RESULTS_VALIDATOR_ID = 'virtual:attnlens-results-validator';
export const VIEW_VALIDATOR_ID = 'virtual:attnlens-view-validator';
const SCHEMAS = {
  [VIEW_VALIDATOR_ID]: fileURLToPath(new URL('../contract/attnlens-view.schema.json', import.meta.url)),
  [CONTRACT_VALIDATOR_ID]: fileURLToPath(new URL('../contract/attnlens-contract.schema.json', import.meta.url)),
  [RESULTS_VALIDATOR_ID]: fileURLToPath(new URL('../contract/attnlens-results.schema.json', import.meta.url)),
};

/**
 * `script-src 'self' 'wasm-unsafe-eval'`: our own bundles only, and WebAssembly compilation (onnxruntime-web)
 * but no eval / new Function. `style-src 'self'`: the one built stylesheet; React's `style={{…}}` and d3's
 * `.style()` set properties through the CSSOM, which CSP does not restrict, so no 'unsafe-inline' is needed
 * (an inline `style="…"` attribute or a `<style>` element would be refused, and the e2e test would see it).
 * `connect-src` is open to http(s), blob: and data: because users open model URLs from anywhere.
 */
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "font-src 'self'",
  "connect-src 'self' https: http: blob: data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * Cross-origin isolation, so onnxruntime-web may run WASM threads (SharedArrayBuffer): sent by `npm start` (the dev
 * server), `vite preview` (the e2e tests and the bench) and, per docs/hosting.md, by static hosts. COEP
 * `credentialless` rather than `require-corp`: both let a model URL with CORS (Access-Control-Allow-Origin) load,
 * but under `require-corp` every cross-origin response read without CORS must also carry
 * `Cross-Origin-Resource-Policy`, which most servers do not send — so the `no-cors` probe that tells "this server
 * refuses CORS" from "nothing answers" (fetchModel.ts) would be blocked and every CORS refusal would read as no
 * answer. `credentialless` sends such requests without cookies instead, and the probe still works. Browsers without
 * `credentialless` (Safari) are simply not isolated: one WASM thread, and the app says so.
 */
export const CROSS_ORIGIN_ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'credentialless',
} as const;

/**
 * The ESM source of the schema's validator: `export default validate` (errors on `validate.errors`); with
 * `firstError` one that stops at the first problem (cheap on a huge mangled document), else one that lists all.
 */
export function contractValidatorCode(firstError = false, id = CONTRACT_VALIDATOR_ID): string {
  const schema = JSON.parse(readFileSync(SCHEMAS[id as keyof typeof SCHEMAS], 'utf8'));
  // `unicode: false` counts string lengths in UTF-16 units (the schema only asks minLength 1, where that is the
  // same as code points), so the code needs no runtime helper from ajv: it imports nothing.
  const ajv = new Ajv2020({
    allErrors: !firstError,
    strict: false,
    unicode: false,
    code: { source: true, esm: true },
    logger: {
      log: () => {},
      warn: (m: unknown) => String(m).includes('option unicode') || console.warn(m),
      error: console.error,
    },
  });
  const code = standaloneCode(ajv, ajv.compile(schema));
  if (/\brequire\(|\bimport\b/.test(code.replace(/"(?:[^"\\]|\\.)*"/g, '""')))
    throw new Error('the precompiled contract validator imports a runtime helper; keep the schema free of them');
  return code;
}

/** Each schema's `virtual:…-validator` (every error) and `…-validator/first` (the first error only). */
export function contractValidator(): Plugin {
  const ids = new Map<string, { schema: string; first: boolean }>();
  for (const schema of Object.keys(SCHEMAS)) {
    ids.set(`\0${schema}`, { schema, first: false });
    ids.set(`\0${schema}/first`, { schema, first: true });
  }
  return {
    name: 'attnlens-contract-validator',
    resolveId: (id) => (ids.has(`\0${id}`) ? `\0${id}` : null),
    load(id) {
      const v = ids.get(id);
      if (!v) return null;
      this.addWatchFile(SCHEMAS[v.schema as keyof typeof SCHEMAS]);
      return contractValidatorCode(v.first, v.schema);
    },
  };
}

/** The policy in the built page (not in `vite` dev, whose client and React refresh inject inline code). */
export function contentSecurityPolicy(): Plugin {
  return {
    name: 'attnlens-csp',
    apply: 'build',
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP }, injectTo: 'head-prepend' },
    ],
  };
}

/**
 * `dist/_headers` (Netlify, Cloudflare Pages): the cross-origin isolation headers and the CSP on every path, so a
 * build dropped on such a host runs WASM threads and binds its workers to the policy (docs/hosting.md).
 */
export function hostHeaders(): Plugin {
  const lines = Object.entries({ ...CROSS_ORIGIN_ISOLATION, 'Content-Security-Policy': CSP }).map(
    ([name, value]) => `  ${name}: ${value}`,
  );
  return {
    name: 'attnlens-host-headers',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: '_headers', source: ['/*', ...lines, ''].join('\n') });
    },
  };
}
