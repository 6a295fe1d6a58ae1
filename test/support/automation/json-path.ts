/**
 * The JSONPath subset that Automation output selectors accept: `$` followed by `.name`, `..name` (recursive
 * descent) and `[n]` (array index). Anything else throws, as Automation rejects it when the document is created.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-action-executeAwsApi.html
 */

type Segment = { kind: 'child'; name: string } | { kind: 'descendant'; name: string } | { kind: 'index'; index: number };

export function parseSelector(selector: string): Segment[] {
  if (!selector.startsWith('$')) throw new Error(`selector must start with '$', got: ${selector}`);
  const segments: Segment[] = [];
  let rest = selector.slice(1);
  while (rest.length > 0) {
    let match: RegExpMatchArray | null;
    if ((match = rest.match(/^\.\.([A-Za-z0-9_\-:]+)/))) {
      segments.push({ kind: 'descendant', name: match[1] });
    } else if ((match = rest.match(/^\.([A-Za-z0-9_\-:]+)/))) {
      segments.push({ kind: 'child', name: match[1] });
    } else if ((match = rest.match(/^\[(\d+)\]/))) {
      segments.push({ kind: 'index', index: Number(match[1]) });
    } else {
      throw new Error(`unsupported selector syntax at '${rest}' in ${selector} (only .name, ..name and [n])`);
    }
    rest = rest.slice(match[0].length);
  }
  return segments;
}

function descendants(value: unknown, name: string, out: unknown[]): void {
  if (Array.isArray(value)) {
    for (const item of value) descendants(item, name, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === name) out.push(child);
      descendants(child, name, out);
    }
  }
}

/**
 * Every value the selector reaches (empty when nothing matches). A recursive descent returns all matches; a path
 * without one returns at most one value.
 */
export function selectAll(document: unknown, selector: string): unknown[] {
  let current: unknown[] = [document];
  for (const segment of parseSelector(selector)) {
    const next: unknown[] = [];
    for (const value of current) {
      if (segment.kind === 'index') {
        if (Array.isArray(value) && segment.index < value.length) next.push(value[segment.index]);
      } else if (segment.kind === 'child') {
        if (value !== null && typeof value === 'object' && !Array.isArray(value) && segment.name in value) {
          next.push((value as Record<string, unknown>)[segment.name]);
        }
      } else {
        descendants(value, segment.name, next);
      }
    }
    current = next;
  }
  return current;
}

/**
 * The value a selector picks: the single match, the list of matches after a recursive descent, or undefined when
 * nothing matches.
 */
export function select(document: unknown, selector: string): unknown {
  const values = selectAll(document, selector);
  const recursive = parseSelector(selector).some((s) => s.kind === 'descendant');
  if (recursive) return values.length === 0 ? undefined : values;
  return values[0];
}
