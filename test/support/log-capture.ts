/**
 * Captures what a handler loaded in the jest process writes to stdout and stderr, as non-empty lines, for the log
 * assertions of the adapter tests. Uses jest globals: no script may import this file.
 */

/** The captured lines of the current test, and the same lines parsed as JSON. */
export interface LogCapture {
  /** Emptied before each test (the same array throughout, so it can be destructured once). */
  readonly lines: string[];
  /** `lines` parsed as JSON, one object a line. */
  parsed<T = Record<string, unknown>>(): T[];
}

/**
 * Registers, in the calling `describe` (or file), a `beforeEach` that empties the lines and spies on
 * `process.stdout.write` and `process.stderr.write` to collect them, and an `afterEach` that calls
 * `jest.restoreAllMocks()`.
 */
export function captureLogLines(): LogCapture {
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    const capture = (chunk: string | Uint8Array): boolean => {
      lines.push(...String(chunk).split('\n').filter((line) => line.length > 0));
      return true;
    };
    jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  return { lines, parsed: <T>() => lines.map((line) => JSON.parse(line) as T) };
}
