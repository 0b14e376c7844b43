#!/usr/bin/env node
// The `patchgd` command with the built-in `folder` task; apps ship their own commands with more tasks.
import { runCli } from './cli.js';
import { folderTask } from './folder-task.js';

// `npm run` executes inside the workspace; paths on the command line mean the user's directory.
if (process.env['INIT_CWD']) process.chdir(process.env['INIT_CWD']);
process.exitCode = await runCli(process.argv.slice(2), { name: 'patchgd', tasks: { folder: folderTask } });
