#!/usr/bin/env node
// The `patchgd` command with the built-in `folder` task; apps ship their own commands with more tasks.
// Paths on the command line are relative to the current directory: this file never changes it
// (the monorepo's `npm run patchgd` script starts it in the caller's directory instead).
import { runCli } from './cli.js';
import { folderTask } from './folder-task.js';

process.exitCode = await runCli(process.argv.slice(2), { name: 'patchgd', tasks: { folder: folderTask } });
