// Packs the GPU benchmark into one folder that runs on a linux-x64 machine with a GPU and no package
// registry: the benchmark bundled into one file (esbuild), Dawn's dawn.node, the Vulkan loader
// (Debian's libvulkan1), this Node binary, and run.sh. Compressed parts keep it under 60 MiB.
//
//   npm run bench:gpu:pack                      → .gpu-bench/ (git-ignored), then on the GPU machine:
//   bash .gpu-bench/run.sh [bench:gpu flags]    → .gpu-bench/gpu.md (and $OUT/gpu.md where OUT is set)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(root, '.gpu-bench') },
    // Skip the Node binary where the GPU machine has Node 20+ of its own.
    'no-node': { type: 'boolean', default: false },
  },
});
const out = path.resolve(args.out!);
const LIMIT = 60 * 2 ** 20;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// 1. The benchmark, with every package (tfjs and its webgpu backend included) in one file; only the
//    native `webgpu` package stays outside.
await build({
  entryPoints: [path.join(here, 'gpu.ts')],
  outfile: path.join(out, 'bench.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['@patchgd/source'],
  external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-wasm'],
  // CommonJS parts of the bundle call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
  minify: false, // readable stack traces from the GPU machine
});

// 2. The `webgpu` package with only the linux-x64 dawn.node (the others are for other systems).
const require = createRequire(import.meta.url);
const webgpuDir = path.dirname(require.resolve('webgpu/package.json'));
const dawnDir = path.join(out, 'node_modules/webgpu');
mkdirSync(path.join(dawnDir, 'dist/linux-x64'), { recursive: true });
for (const file of ['package.json', 'index.js']) copyFileSync(path.join(webgpuDir, file), path.join(dawnDir, file));
copyFileSync(path.join(webgpuDir, 'dist/linux-x64/dawn.node'), path.join(out, 'dawn.node'));
gzip(path.join(out, 'dawn.node'));

// 3. The Vulkan loader, as the device tool's README describes (Debian's libvulkan1, amd64),
//    unpacked here so run.sh needs no dpkg and writes nothing outside the folder.
const debs = path.join(out, 'debs');
mkdirSync(debs);
execFileSync(
  'sh',
  [
    '-c',
    'mkdir -p /tmp/amd64/partial && o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64" && ' +
      '{ apt-get $o download libvulkan1 2>/dev/null || { apt-get $o update -qq && apt-get $o download libvulkan1; }; }',
  ],
  { cwd: debs, stdio: 'inherit' },
);
const deb = readdirSync(debs).find((f) => f.startsWith('libvulkan1'))!;
execFileSync('dpkg-deb', ['-x', path.join(debs, deb), path.join(out, 'vulkan')]);
rmSync(debs, { recursive: true });

// 4. Node itself (the GPU machine may have none).
if (!args['no-node']) {
  copyFileSync(process.execPath, path.join(out, 'node'));
  gzip(path.join(out, 'node'));
}

// 5. The one command.
writeFileSync(
  path.join(out, 'run.sh'),
  `#!/usr/bin/env bash
# Runs the GPU benchmark from this folder: bash run.sh [--small] [--software] [...]. Needs a GPU with
# a Vulkan driver (NVIDIA: its ICD file is found below) on linux-x64; nothing is downloaded.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ -f "$here/node_modules/webgpu/dist/linux-x64/dawn.node" ] || gunzip -c "$here/dawn.node.gz" > "$here/node_modules/webgpu/dist/linux-x64/dawn.node"
node=node
if [ -f "$here/node.gz" ]; then
  [ -x "$here/node" ] || { gunzip -c "$here/node.gz" > "$here/node"; chmod +x "$here/node"; }
  node="$here/node"
fi
lib="$here/vulkan/usr/lib/x86_64-linux-gnu"
export LD_LIBRARY_PATH="$lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -z "\${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
done
echo "node $("$node" --version), Vulkan ICD: \${VK_DRIVER_FILES:-system default}" >&2
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 || true
report="$here/gpu.md"
status=0
timeout 450 "$node" "$here/bench.mjs" --out "$report" "$@" || status=$?
if [ -n "\${OUT:-}" ] && [ -f "$report" ]; then cp "$report" "$OUT/gpu.md"; fi
exit $status
`,
  { mode: 0o755 },
);

const size = folderBytes(out);
console.log(`${out}: ${(size / 2 ** 20).toFixed(1)} MiB`);
for (const f of readdirSync(out)) console.log(`  ${f}  ${(folderBytes(path.join(out, f)) / 2 ** 20).toFixed(1)} MiB`);
if (size > LIMIT) {
  console.error(`Expected a folder under 60 MiB but received ${(size / 2 ** 20).toFixed(1)} MiB`);
  process.exit(1);
}

function gzip(file: string): void {
  execFileSync('gzip', ['-9', '-f', file]);
}

function folderBytes(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.size;
  return readdirSync(p).reduce((sum, f) => sum + folderBytes(path.join(p, f)), 0);
}
