/**
 * The reused handler processes of the e2e tests (handler-process.ts) keep each session an execution environment of
 * its own: module scope, `process.env` and output do not leak from one session to the next.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Context } from 'aws-lambda';
import { HandlerPool, startHandlerProcess } from './handler-process';

const dir = mkdtempSync(path.join(tmpdir(), 'handler-process-'));
const bundle = path.join(dir, 'index.js');
// A module-scope counter, the environment at cold start and now, a log line per invocation; MUST_BE_SET checked at load.
writeFileSync(bundle, `
if (process.env.MUST_BE_SET === undefined) throw new Error('MUST_BE_SET is required');
let calls = 0;
const atLoad = process.env.VALUE;
exports.handler = async () => {
  calls++;
  console.log('call ' + calls + ' in ' + process.pid);
  console.error('err ' + atLoad);
  return { calls, atLoad, now: process.env.VALUE, other: process.env.ONLY_FIRST ?? null, pid: process.pid };
};
`);
const ctx = { awsRequestId: 'r' } as Context;
const pool = new HandlerPool();

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a closed session\'s process runs the next one with a fresh module, exactly its environment and its own output', async () => {
  const first = await pool.start<any>(bundle, { MUST_BE_SET: '1', VALUE: 'a', ONLY_FIRST: 'x' });
  expect(await first.invoke({}, ctx)).toMatchObject({ calls: 1, atLoad: 'a', now: 'a', other: 'x' });
  expect(await first.invoke({}, ctx)).toMatchObject({ calls: 2 });
  await first.close();
  const second = await pool.start<any>(bundle, { MUST_BE_SET: '1', VALUE: 'b' });
  const result = await second.invoke({}, ctx);
  await second.close();
  expect(result).toMatchObject({ calls: 1, atLoad: 'b', now: 'b', other: null });
  const pid = result.pid;
  expect(first.output().split('\n').filter(Boolean).sort()).toEqual([`call 1 in ${pid}`, `call 2 in ${pid}`, 'err a', 'err a']);
  expect(second.output().split('\n').filter(Boolean).sort()).toEqual([`call 1 in ${pid}`, 'err b']);
});

test('sessions open at the same time run in different processes', async () => {
  const a = await pool.start<any>(bundle, { MUST_BE_SET: '1', VALUE: 'a' });
  const b = await pool.start<any>(bundle, { MUST_BE_SET: '1', VALUE: 'b' });
  const [ra, rb] = await Promise.all([a.invoke({}, ctx), b.invoke({}, ctx)]);
  await Promise.all([a.close(), b.close()]);
  expect(ra.pid).not.toBe(rb.pid);
  expect([ra.now, rb.now]).toEqual(['a', 'b']);
});

test('a load error rejects the session and leaves the process usable', async () => {
  await expect(pool.start(bundle, { VALUE: 'a' })).rejects.toThrow(/MUST_BE_SET is required/);
  const next = await pool.start<any>(bundle, { MUST_BE_SET: '1', VALUE: 'c' });
  expect(await next.invoke({}, ctx)).toMatchObject({ calls: 1, now: 'c' });
  await next.close();
});

test('startHandlerProcess: a process of its own, which exits on close', async () => {
  const proc = await startHandlerProcess<any>(bundle, { MUST_BE_SET: '1', VALUE: 'd' });
  const { pid } = await proc.invoke({}, ctx);
  await proc.close();
  expect(() => process.kill(pid, 0)).toThrow();
  expect(proc.output()).toContain(`call 1 in ${pid}`);
});
