// publint for every publishable workspace (packages that are not private): export maps, types
// conditions, `files`, entry points that exist in the packed tarball. Run after `npm run build`.
// Exits 1 on any error or warning, so CI fails on a broken export map.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = path.resolve(import.meta.dirname, '..');
let failed = 0;
for (const group of ['packages', 'apps']) {
  for (const name of (await readdir(path.join(root, group))).sort()) {
    const pkgDir = path.join(root, group, name);
    const pkg = JSON.parse(await readFile(path.join(pkgDir, 'package.json'), 'utf8'));
    if (pkg.private) continue;
    const { messages } = await publint({ pkgDir, level: 'suggestion', strict: true, pack: 'npm' });
    for (const message of messages) console.log(`${pkg.name}: ${message.type}: ${formatMessage(message, pkg)}`);
    const bad = messages.filter((m) => m.type !== 'suggestion').length;
    if (bad === 0) console.log(`${pkg.name}: ok`);
    failed += bad;
  }
}
process.exitCode = failed > 0 ? 1 : 0;
