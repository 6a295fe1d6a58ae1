/** What every bench section shares: its knobs, medians and the A/B interleaving. */

/** A positive whole number from the environment, else `fallback`. */
export function intFromEnv(name: string, fallback: number): number {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** The median of the samples (the mean of the middle two for an even count). */
export function median(samples: readonly number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Runs A and B `runs` times each, interleaved A B B A A B B A ... so that drift and warm-up hit both. */
export function interleaved<T>(runs: number, a: () => T, b: () => T): { a: T[]; b: T[] } {
  const ra: T[] = [];
  const rb: T[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      ra.push(a());
      rb.push(b());
    } else {
      rb.push(b());
      ra.push(a());
    }
  }
  return { a: ra, b: rb };
}
