import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { exclusively } from './exclusive';

const ROOT = path.join(__dirname, '..', '..');

/** Runs `rounds` steps under exclusively() in a child process, each logging `in <pid>` and `out <pid>` to `log`. */
function contender(log: string, rounds: number): Promise<number | null> {
  const source = `
    const fs = require('fs');
    const { exclusively } = require(${JSON.stringify(path.join(__dirname, 'exclusive.ts'))});
    for (let i = 0; i < ${rounds}; i++) {
      exclusively(() => {
        fs.appendFileSync(${JSON.stringify(log)}, 'in ' + process.pid + '\\n');
        const until = Date.now() + 3;
        while (Date.now() < until) {}
        fs.appendFileSync(${JSON.stringify(log)}, 'out ' + process.pid + '\\n');
      });
    }`;
  const child = spawn(process.execPath, ['-r', path.join(ROOT, 'scripts', 'ts-register.js'), '-e', source], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

test('two processes of one jest run never run their steps at the same time', async () => {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'exclusive-')), 'log');
  // Both children are this worker's: they share one lock, as two workers of a jest run do.
  expect(await Promise.all([contender(log, 30), contender(log, 30)])).toEqual([0, 0]);
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
  expect(lines).toHaveLength(120);
  expect(new Set(lines.map((l) => l.split(' ')[1])).size).toBe(2);
  for (let i = 0; i < lines.length; i += 2) {
    expect(lines[i]).toMatch(/^in /);
    expect(lines[i + 1]).toBe(lines[i].replace(/^in/, 'out'));
  }
});

// A lock of their own: the jest run's is the other worker's too, which may take it at any moment.
const LOCK = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'exclusive-')), 'lock');

test('a lock whose owner has exited is taken over; the step runs and the lock is released', () => {
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  fs.mkdirSync(LOCK);
  fs.writeFileSync(path.join(LOCK, 'pid'), String(dead));
  expect(exclusively(() => 'ran', LOCK)).toBe('ran');
  expect(fs.existsSync(LOCK)).toBe(false);
});

test('a step that throws releases the lock, and steps nest', () => {
  expect(() => exclusively(() => { throw new Error('boom'); }, LOCK)).toThrow('boom');
  expect(fs.existsSync(LOCK)).toBe(false);
  expect(exclusively(() => exclusively(() => 1, LOCK) + 1, LOCK)).toBe(2);
  expect(fs.existsSync(LOCK)).toBe(false);
});
