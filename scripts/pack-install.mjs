#!/usr/bin/env node
// Every package as a user gets it: packed with `npm pack`, its tarball checked (no build info,
// tests, fuzz code or dangling maps; LICENSE and README present; every export target shipped;
// source maps carry their sources), installed alone with its @patchgd tarball dependencies into
// an empty project, and its README example (examples/readme.mjs, quoted verbatim by the README)
// run there. Prints one line per package: tarball size, files, node_modules size, times.
//
// usage: node scripts/pack-install.mjs [--skip-build] [--only core,engine] [--keep]
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : undefined;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (cmd, args, options = {}) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });

const packages = readdirSync(path.join(root, 'packages'))
  .map((dir) => ({
    dir: path.join(root, 'packages', dir),
    manifest: JSON.parse(readFileSync(path.join(root, 'packages', dir, 'package.json'), 'utf8')),
  }))
  .filter((p) => !p.manifest.private);
const byName = new Map(packages.map((p) => [p.manifest.name, p]));
const problems = [];
const fail = (pkg, message) => problems.push(`${pkg}: ${message}`);

if (!flag('--skip-build')) {
  console.log('building …');
  run('npx', ['turbo', 'run', 'build', ...packages.map((p) => `--filter=${p.manifest.name}`)], {
    cwd: root,
    stdio: 'inherit',
  });
}

const work = mkdtempSync(path.join(os.tmpdir(), 'patchgd-pack-'));
const tarballs = path.join(work, 'tarballs');
mkdirSync(tarballs);

/** Bytes under a folder (not following links). */
function du(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) total += du(file);
    else if (entry.isFile()) total += statSync(file).size;
  }
  return total;
}

/** Export targets of an exports map (`types` and `default` strings, any depth), without the source condition. */
function exportTargets(exports) {
  if (typeof exports === 'string') return [exports];
  if (!exports || typeof exports !== 'object') return [];
  return Object.entries(exports).flatMap(([key, value]) => (key === '@patchgd/source' ? [] : exportTargets(value)));
}

// 1. Pack and inspect every tarball.
const packed = new Map();
for (const { dir, manifest } of packages) {
  const name = manifest.name;
  const [info] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', tarballs], { cwd: dir }));
  const files = info.files.map((f) => f.path);
  packed.set(name, {
    tarball: path.join(tarballs, info.filename),
    size: info.size,
    unpackedSize: info.unpackedSize,
    files: files.length,
  });
  for (const f of files) {
    if (/(^|\/)\.?[^/]*tsbuildinfo$|\.test\.|(^|\/)fuzz|test-support|\.d\.ts\.map$/.test(f))
      fail(name, `tarball ships ${f}`);
  }
  for (const required of ['LICENSE', 'README.md', 'package.json'])
    if (!files.includes(required)) fail(name, `tarball lacks ${required}`);
  for (const target of [
    ...exportTargets(manifest.exports),
    manifest.main,
    manifest.types,
    ...Object.values(manifest.bin ?? {}),
  ].filter(Boolean)) {
    if (!files.includes(path.posix.normalize(target))) fail(name, `export target ${target} is not in the tarball`);
  }
  for (const f of files.filter((f) => f.endsWith('.js.map'))) {
    const map = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
    if (
      !Array.isArray(map.sourcesContent) ||
      map.sourcesContent.length !== map.sources.length ||
      map.sourcesContent.some((s) => typeof s !== 'string')
    ) {
      fail(name, `${f} does not carry its sources (sourcesContent)`);
    }
  }
  for (const field of ['repository', 'homepage', 'bugs', 'keywords', 'license', 'engines'])
    if (!manifest[field]) fail(name, `package.json has no ${field}`);
  // The README quotes the runnable example verbatim.
  const example = path.join(dir, 'examples', 'readme.mjs');
  if (!existsSync(example)) fail(name, 'has no examples/readme.mjs');
  else if (
    !readFileSync(path.join(dir, 'README.md'), 'utf8').includes(`\`\`\`js\n${readFileSync(example, 'utf8')}\`\`\``)
  ) {
    fail(name, 'README.md does not quote examples/readme.mjs exactly (in a ```js block)');
  }
}

/** The package and every @patchgd package it depends on, transitively. */
function closure(name, seen = new Set()) {
  if (seen.has(name) || !byName.has(name)) return seen;
  seen.add(name);
  const m = byName.get(name).manifest;
  for (const dep of Object.keys({ ...m.dependencies, ...m.optionalDependencies, ...m.peerDependencies }))
    closure(dep, seen);
  return seen;
}

// 2. Install each alone and run its example.
const lines = [];
for (const { dir, manifest } of packages) {
  const name = manifest.name;
  if (only && !only.includes(name.replace('@patchgd/', ''))) continue;
  const project = path.join(work, name.replace('@patchgd/', ''));
  mkdirSync(project);
  writeFileSync(
    path.join(project, 'package.json'),
    `${JSON.stringify({ name: `try-${path.basename(project)}`, private: true, type: 'module' }, null, 2)}\n`,
  );
  const deps = [...closure(name)].map((n) => packed.get(n).tarball);
  let started = performance.now();
  try {
    run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...deps], { cwd: project });
  } catch (error) {
    fail(name, `npm install failed: ${String(error.stderr ?? error).slice(-1500)}`);
    continue;
  }
  const installSeconds = (performance.now() - started) / 1000;
  const example = path.join(dir, 'examples', 'readme.mjs');
  let exampleSeconds = Number.NaN;
  if (existsSync(example)) {
    cpSync(example, path.join(project, 'readme.mjs'));
    started = performance.now();
    try {
      run(process.execPath, ['readme.mjs'], { cwd: project, timeout: 180_000 });
      exampleSeconds = (performance.now() - started) / 1000;
    } catch (error) {
      fail(
        name,
        `examples/readme.mjs failed when installed alone:\n${String(error.stderr ?? '').slice(-2000)}${String(error.stdout ?? '').slice(-500)}`,
      );
    }
  }
  const p = packed.get(name);
  lines.push(
    `${name.padEnd(20)} tarball ${(p.size / 1024).toFixed(1).padStart(6)} KiB (${(p.unpackedSize / 1024).toFixed(1).padStart(6)} KiB unpacked, ${String(p.files).padStart(3)} files)` +
      ` · node_modules ${(du(path.join(project, 'node_modules')) / 2 ** 20).toFixed(1).padStart(6)} MiB` +
      ` · install ${installSeconds.toFixed(1)} s · example ${Number.isNaN(exampleSeconds) ? 'failed' : `${exampleSeconds.toFixed(1)} s`}`,
  );
  console.log(lines[lines.length - 1]);
}

if (!flag('--keep')) rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work}`);
if (problems.length) {
  console.error(`\n${problems.length} problem(s):\n${problems.map((p) => `- ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(
  `\n${lines.length} package(s) packed, installed alone and their README example run (node ${process.version}).`,
);
