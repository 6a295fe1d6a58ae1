#!/usr/bin/env node
// Fails when the committed API.md differs from one generated from the current .jsii manifest.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.join(__dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-md-'));
const fresh = path.join(dir, 'API.md');
let want;
try {
  // jsii-docgen runs with this process's node flags (scripts/check.js gives them).
  execFileSync(process.execPath, [...process.execArgv, path.join(root, 'node_modules', 'jsii-docgen', 'bin', 'jsii-docgen'), '-o', fresh], { cwd: root, stdio: 'inherit' });
  want = fs.readFileSync(fresh, 'utf8');
} finally {
  // Each run left its directory behind in the system's temporary directory.
  fs.rmSync(dir, { recursive: true, force: true });
}
const committed = path.join(root, 'API.md');
const have = fs.existsSync(committed) ? fs.readFileSync(committed, 'utf8') : '';
if (want !== have) {
  process.stderr.write('API.md is stale: run `npm run compile && npm run docgen` and commit the result.\n');
  process.exit(1);
}
process.stdout.write('API.md is up to date\n');
