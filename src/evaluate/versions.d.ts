/** Set by vite.config.ts `define`: the app's and onnxruntime-web's versions, for results files. */
declare const __APP_VERSION__: string;
declare const __ORT_VERSION__: string;
