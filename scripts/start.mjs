// `npm start`: install npm packages if needed, then serve the app on the bundled zoo.
import { spawnSync } from 'node:child_process';
import { root, setupNode } from './setup.mjs';

setupNode();
const port = process.env.PORT ?? '5173';
console.log(`[start] AttnLens on http://localhost:${port}/`);
spawnSync('npx', ['vite', '--port', port, '--strictPort', '--host', '127.0.0.1'], { cwd: root, stdio: 'inherit' });
