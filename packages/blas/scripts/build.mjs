// Install step of @patchgd/blas: builds the addon with node-gyp against the system's OpenBLAS.
// A failed build is not a failed install: the package is optional and the engine then keeps
// tfjs's wasm kernels, so this prints what to install and exits 0 — unless PATCHGD_BLAS_REQUIRED=1
// (CI), where a missing addon must fail loudly.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const required = process.env.PATCHGD_BLAS_REQUIRED === '1';

/** npm passes its bundled node-gyp to lifecycle scripts; otherwise look for one beside npm or in node_modules. */
function nodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const candidates = [root, path.join(path.dirname(process.execPath), '../lib/node_modules/npm')];
  for (const from of candidates) {
    try {
      return createRequire(path.join(from, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
    } catch {}
  }
  return undefined;
}

const gyp = nodeGyp();
const result = gyp
  ? spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
  : undefined;
if (result?.status === 0) process.exit(0);
const why = gyp
  ? (result?.stderr ?? '')
      .split('\n')
      .filter((line) => /error|not found|No package/i.test(line))
      .slice(0, 3)
      .join(' | ')
  : 'node-gyp not found';
console.warn(
  `@patchgd/blas: the BLAS kernels were not built (${why || `node-gyp exited ${result?.status}`}). ` +
    'PatchGD keeps the wasm kernels. For the native ones install OpenBLAS with its pkg-config file ' +
    '(Debian/Ubuntu: apt-get install libopenblas-dev; Fedora: openblas-devel), then `npm rebuild @patchgd/blas`.',
);
process.exit(required ? 1 : 0);
