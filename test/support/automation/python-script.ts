import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exclusively } from '../exclusive';

/** The result of running an `aws:executeScript` Python handler. */
export interface ScriptResult {
  readonly ok: boolean;
  /** The handler's return value (JSON round-tripped), when ok. */
  readonly payload?: unknown;
  /** The exception, as `Type: message`, when not ok. */
  readonly error?: string;
  /** What the script printed (Automation shows it as the step's log output). */
  readonly stdout: string;
  readonly timedOut: boolean;
}

// Loads the script as a module, calls handler(events, context) and writes the outcome as JSON to a file, so that
// whatever the script prints stays out of the result.
const RUNNER = `
import importlib.util, json, sys, traceback
script, handler_name, result_path = sys.argv[1], sys.argv[2], sys.argv[3]
request = json.load(sys.stdin)
def write(outcome):
    with open(result_path, 'w') as f:
        json.dump(outcome, f)
try:
    spec = importlib.util.spec_from_file_location('automation_script', script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, handler_name)
    write({'ok': True, 'payload': handler(request['events'], request['context'])})
except Exception as e:
    write({'ok': False, 'error': type(e).__name__ + ': ' + str(e)})
`;

/**
 * The interpreter `python3` names, found once per process. `python3` on PATH may be a version manager's shim (pyenv's
 * is a bash script that costs about half a second per start, most of each script step's time); its
 * `sys.executable` is the interpreter itself.
 */
let interpreter: string | undefined;
function python3(): string {
  if (interpreter === undefined) {
    const found = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
    if (found.error) throw found.error;
    interpreter = found.status === 0 && found.stdout.trim() !== '' ? found.stdout.trim() : 'python3';
  }
  return interpreter;
}

/**
 * Runs `handler(events, context)` of a Python script with the local `python3`, as `aws:executeScript` does with
 * Runtime python3.x (the `python3` on PATH). The script sees `events` (the step's InputPayload) and `context` (a dict with
 * `automation:EXECUTION_ID`).
 */
export function runPythonHandler(
  script: string,
  handler: string,
  events: unknown,
  context: Record<string, unknown>,
  timeoutSeconds: number,
): ScriptResult {
  const dir = mkdtempSync(join(tmpdir(), 'automation-script-'));
  try {
    const scriptPath = join(dir, 'script.py');
    const runnerPath = join(dir, 'runner.py');
    const resultPath = join(dir, 'result.json');
    writeFileSync(scriptPath, script);
    writeFileSync(runnerPath, RUNNER);
    // One process-heavy step at a time across the jest workers (see exclusive.ts).
    const child = exclusively(() => spawnSync(python3(), [runnerPath, scriptPath, handler, resultPath], {
      input: JSON.stringify({ events: events ?? {}, context }),
      encoding: 'utf8',
      timeout: timeoutSeconds * 1000,
    }));
    const timedOut = child.error !== undefined && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
    if (timedOut) return { ok: false, error: `script timed out after ${timeoutSeconds} s`, stdout: child.stdout ?? '', timedOut };
    if (child.error) throw child.error;
    let outcome: { ok: boolean; payload?: unknown; error?: string };
    try {
      outcome = JSON.parse(readFileSync(resultPath, 'utf8'));
    } catch {
      outcome = { ok: false, error: `python3 exited with ${child.status}: ${child.stderr}` };
    }
    return { ...outcome, stdout: child.stdout, timedOut: false };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
