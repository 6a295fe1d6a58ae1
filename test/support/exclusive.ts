import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/*
 * One process-heavy step at a time across the jest workers of a run: the cfn-guard binary and the Python script
 * steps run inside {@link exclusively}.
 *
 * On the 2-core CI machine (a paravirtualised VM), page faults, `mmap`/`munmap` and process starts cost far more when
 * both cores make them at once. The guard binary is made of little else (a static musl build that maps and unmaps
 * memory some 4,300 times a run): the 173 distinct guard inputs of a test run took 36 s one after the other, but 44 s
 * and twice the CPU (85 s against 41 s) split over two processes running side by side. With the guard serialized
 * (by `flock`, in a first form of this lock), two full jest runs took 335 s and 337 s of CPU, against 350 s and 360 s without (212 s and 209 s of wall
 * time against 219 s and 212 s). The worker that waits leaves its core to the other one and to the check steps.
 *
 * The lock is a directory holding its owner's pid, shared by the workers of one jest run (their parent's pid names
 * it) and never held across an `await`. A lock whose owner has died is taken over; one held for longer than
 * WAIT_LIMIT_MS fails the step that waits, naming the lock.
 */

/** The variable jest-environment.js keeps the system's temporary directory in, before it gives each worker its own. */
export const SHARED_TMPDIR_VARIABLE = 'CDK_SSM_HYBRID_FLEET_SHARED_TMPDIR';
/** The lock of this process: the jest run's (a worker's parent's pid names it), or this process's own outside jest workers. */
export const LOCK = path.join(
  process.env[SHARED_TMPDIR_VARIABLE] ?? os.tmpdir(),
  `cdk-ssm-hybrid-fleet-exclusive-${process.env.JEST_WORKER_ID !== undefined ? process.ppid : process.pid}`,
);
const WAIT_LIMIT_MS = 120_000;
const POLL_MS = 2;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let depth = 0;

function tryAcquire(lock: string): boolean {
  try {
    fs.mkdirSync(lock);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
  return true;
}

/** Whether the lock's owner is known to have exited (a lock without a pid yet is being taken: not gone). */
function ownerGone(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Runs `step` (synchronous) while no other worker of this jest run is inside `exclusively`. Re-entrant.
 * @param lock the lock directory (default: the jest run's, {@link LOCK}; a test of this module uses one of its own)
 */
export function exclusively<T>(step: () => T, lock: string = LOCK): T {
  if (depth > 0) return step();
  const started = Date.now();
  while (!tryAcquire(lock)) {
    if (ownerGone(lock)) {
      fs.rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() - started > WAIT_LIMIT_MS) {
      throw new Error(`waited more than ${WAIT_LIMIT_MS / 1000} s for ${lock} (held by another jest worker); remove it if no test is running`);
    }
    Atomics.wait(sleeper, 0, 0, POLL_MS);
  }
  depth++;
  try {
    return step();
  } finally {
    depth--;
    fs.rmSync(lock, { recursive: true, force: true });
  }
}
