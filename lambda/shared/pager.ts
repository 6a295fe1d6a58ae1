/**
 * The one pager of the handlers: walks a `NextToken` listing (`DescribeInstanceInformation`, `DescribeActivations`,
 * `ListResourceComplianceSummaries`, ...) page by page and stops early, with a reason, when the deadline comes, a page
 * limit is reached, the service hands back a token it already gave (which would loop until the timeout) or a call
 * fails. Pure: the caller passes the page fetch, the deadline and the limits; no SDK import, no clock.
 * Pagination: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html
 */
import { DeadlineExceeded } from './deadline';

/** One page of a paginated call. */
export interface Page<T> {
  readonly items?: readonly T[];
  /** Absent or empty on the last page. */
  readonly nextToken?: string;
}

/** Fetches the page at `nextToken` (`undefined`: the first page); throws the call's error. */
export type FetchPage<T> = (nextToken: string | undefined) => Promise<Page<T>>;

/**
 * How a listing ended: `done` (last page read), `deadline` (the deadline came before a page, or cut a call short),
 * `max-pages` (the page limit was reached with more pages left), `repeated-token` (the service returned a `NextToken`
 * it had already returned in this pass), `stopped` (the page handler asked to stop) or `failed` (a call failed).
 */
export type PagingEnd = 'done' | 'deadline' | 'max-pages' | 'repeated-token' | 'stopped' | 'failed';

/** The outcome of one listing. */
export interface PagingResult {
  readonly end: PagingEnd;
  /** Pages read (restarted passes included). */
  readonly pages: number;
  /** Times the listing started over from its first page (see {@link PagerOptions.restartOn}). */
  readonly restarts: number;
  /** The error of a `failed` listing, or of the call the deadline cut short. */
  readonly error?: unknown;
}

/** A listing's outcome and the items of the pages it read, in order. */
export interface CollectedPages<T> extends PagingResult {
  readonly items: T[];
}

/** Deadline and limits of a listing. */
export interface PagerOptions {
  /** Asked before each page: `true` once the deadline has come (the listing then starts no more calls). */
  readonly deadlineNear: () => boolean;
  /** At most this many pages (restarted passes included); `undefined` = no limit. */
  readonly maxPages?: number;
  /** Whether a failed call means "start over from the first page" (e.g. SSM's `InvalidNextToken`). */
  readonly restartOn?: (err: unknown) => boolean;
  /** Times the listing may start over before a `restartOn` error fails it. @default 0 */
  readonly maxRestarts?: number;
  /**
   * Whether a failed call was cut short by the deadline rather than failed on its own.
   * @default an `AbortError` or `DeadlineExceeded` once `deadlineNear()` answers `true`
   */
  readonly cutShort?: (err: unknown) => boolean;
}

/** Names of the errors a call throws when the deadline aborts it (the SDK's, and {@link DeadlineExceeded}'s). */
const DEADLINE_ERROR_NAMES: ReadonlySet<string> = new Set(['AbortError', 'DeadlineExceeded']);

const nameOf = (err: unknown): unknown => (typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined);

/**
 * Reads the listing page by page, handing each page's items to `onPage` before asking for the next one (nothing is
 * accumulated here); `onPage` answers `false` to stop. Never throws for a failed call: the result says how it ended.
 */
export async function forEachPage<T>(
  fetchPage: FetchPage<T>,
  onPage: (items: readonly T[]) => boolean | void | Promise<boolean | void>,
  options: PagerOptions,
): Promise<PagingResult> {
  const cutShort = options.cutShort ?? ((err: unknown) => DEADLINE_ERROR_NAMES.has(nameOf(err) as string) && options.deadlineNear());
  let pages = 0;
  let restarts = 0;
  let seen = new Set<string>();
  let nextToken: string | undefined;
  for (;;) {
    if (options.deadlineNear()) return { end: 'deadline', pages, restarts };
    if (options.maxPages !== undefined && pages >= options.maxPages) return { end: 'max-pages', pages, restarts };
    let page: Page<T>;
    try {
      page = await fetchPage(nextToken);
    } catch (error) {
      if (cutShort(error)) return { end: 'deadline', pages, restarts, error };
      if (options.restartOn?.(error) === true && restarts < (options.maxRestarts ?? 0)) {
        restarts += 1;
        seen = new Set();
        nextToken = undefined;
        continue;
      }
      return { end: 'failed', pages, restarts, error };
    }
    pages += 1;
    if ((await onPage(page.items ?? [])) === false) return { end: 'stopped', pages, restarts };
    nextToken = page.nextToken || undefined;
    if (nextToken === undefined) return { end: 'done', pages, restarts };
    if (seen.has(nextToken)) return { end: 'repeated-token', pages, restarts };
    seen.add(nextToken);
  }
}

/** Reads the listing like {@link forEachPage} and returns the items of the pages it read with how it ended. */
export async function collectPages<T>(fetchPage: FetchPage<T>, options: PagerOptions): Promise<CollectedPages<T>> {
  const items: T[] = [];
  const result = await forEachPage(fetchPage, (page) => {
    items.push(...page);
  }, options);
  return { ...result, items };
}

/** The error a listing that has to be complete throws when it stopped early (`max-pages` or `repeated-token`). */
export class ListingIncomplete extends Error {
  override readonly name = 'ListingIncomplete';
  constructor(readonly end: PagingEnd) {
    super(`the listing ended early: ${end}`);
  }
}

/**
 * Reads a listing that has to be complete (a partial one would undercount): its items, or it throws the error of the
 * call that failed or was cut short, {@link DeadlineExceeded} when the deadline came between pages, or
 * {@link ListingIncomplete} when a limit or a repeated token ended it.
 */
export async function collectAll<T>(fetchPage: FetchPage<T>, options: PagerOptions): Promise<T[]> {
  const listing = await collectPages(fetchPage, options);
  if (listing.end === 'done') return listing.items;
  if (listing.error !== undefined) throw listing.error;
  throw listing.end === 'deadline' ? new DeadlineExceeded() : new ListingIncomplete(listing.end);
}
