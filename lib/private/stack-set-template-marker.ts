/*
 * Marks a StackSet template stack (`FleetStackSetTemplate`), so that library code outside `lib/fleet` (the quota
 * guard) can tell one without importing it. Each stack instance deploys such a template on its own into one account
 * and Region.
 */
const MARKER = Symbol.for('cdk-ssm-hybrid-fleet.FleetStackSetTemplate');

/** Marks `stack` as a StackSet template. */
export function markStackSetTemplate(stack: object): void {
  Object.defineProperty(stack, MARKER, { value: true });
}

/** Whether `x` is a StackSet template stack. */
export function isStackSetTemplate(x: unknown): boolean {
  return typeof x === 'object' && x !== null && MARKER in x;
}
