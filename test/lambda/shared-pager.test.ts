import { DeadlineExceeded } from '../../lambda/shared/deadline';
import { collectAll, collectPages, forEachPage, ListingIncomplete, type Page } from '../../lambda/shared/pager';

const named = (name: string): Error => Object.assign(new Error(`${name}: detail`), { name });
const NEVER = { deadlineNear: () => false };

/**
 * A listing served from fixed pages: page `i` answers with `pages[i]`; its token is `t<i+1>` unless `tokens` says
 * otherwise (`tokens[i]` is the token page `i` returns). Records the tokens it was asked for.
 */
function listing<T>(pages: readonly (readonly T[] | undefined)[], tokens?: readonly (string | undefined)[]) {
  const asked: (string | undefined)[] = [];
  const fetch = async (token: string | undefined): Promise<Page<T>> => {
    asked.push(token);
    const index = token === undefined ? 0 : Number(token.slice(1));
    const nextToken = tokens !== undefined ? tokens[index] : index + 1 < pages.length ? `t${index + 1}` : undefined;
    return { items: pages[index], nextToken };
  };
  return { asked, fetch };
}

describe('forEachPage / collectPages', () => {
  test('follows NextToken to the last page, in order, asking for each page once', async () => {
    const { asked, fetch } = listing([[1, 2], [3], [4, 5]]);
    const result = await collectPages(fetch, NEVER);
    expect(result).toEqual({ end: 'done', pages: 3, restarts: 0, items: [1, 2, 3, 4, 5] });
    expect(asked).toEqual([undefined, 't1', 't2']);
  });

  test('empty pages (no items, or an empty list) do not end the listing; an empty NextToken does', async () => {
    const { asked, fetch } = listing([undefined, [], [7]], ['t1', 't2', '']);
    const result = await collectPages(fetch, NEVER);
    expect(result).toMatchObject({ end: 'done', pages: 3, items: [7] });
    expect(asked).toEqual([undefined, 't1', 't2']);
  });

  test('the deadline is asked before every page: once near, no further page is fetched and the items so far are kept', async () => {
    const { asked, fetch } = listing([[1], [2], [3], [4]]);
    let questions = 0;
    const result = await collectPages(fetch, { deadlineNear: () => ++questions > 2 });
    expect(result).toEqual({ end: 'deadline', pages: 2, restarts: 0, items: [1, 2] });
    expect(asked).toEqual([undefined, 't1']);
    expect(questions).toBe(3);
  });

  test('a call aborted by the deadline ends the listing with "deadline" and its error; an abort before the deadline is a failure', async () => {
    const aborted = named('AbortError');
    let near = false;
    const fetch = async (token: string | undefined): Promise<Page<number>> => {
      if (token === undefined) return { items: [1], nextToken: 't1' };
      near = true;
      throw aborted;
    };
    expect(await collectPages(fetch, { deadlineNear: () => near })).toEqual({ end: 'deadline', pages: 1, restarts: 0, error: aborted, items: [1] });
    near = false;
    const early = async (): Promise<Page<number>> => {
      throw aborted;
    };
    expect(await collectPages(early, NEVER)).toMatchObject({ end: 'failed', error: aborted });
  });

  test('a deadline that has already come stops the listing before its first page', async () => {
    const { asked, fetch } = listing([[1]]);
    const result = await collectPages(fetch, { deadlineNear: () => true });
    expect(result).toEqual({ end: 'deadline', pages: 0, restarts: 0, items: [] });
    expect(asked).toEqual([]);
  });

  test('maxPages: stops with "max-pages" when more pages are left, but a listing of exactly that many pages is done', async () => {
    const long = listing([[1], [2], [3]]);
    expect(await collectPages(long.fetch, { ...NEVER, maxPages: 2 })).toEqual({ end: 'max-pages', pages: 2, restarts: 0, items: [1, 2] });
    expect(long.asked).toEqual([undefined, 't1']);
    const exact = listing([[1], [2]]);
    expect(await collectPages(exact.fetch, { ...NEVER, maxPages: 2 })).toMatchObject({ end: 'done', items: [1, 2] });
  });

  test('a NextToken the service already returned ends the listing with "repeated-token" instead of looping', async () => {
    // t1 → t2 → t1: the third page would send the listing round again.
    const { asked, fetch } = listing([[1], [2], [3]], ['t1', 't2', 't1']);
    const result = await collectPages(fetch, NEVER);
    expect(result).toEqual({ end: 'repeated-token', pages: 3, restarts: 0, items: [1, 2, 3] });
    expect(asked).toEqual([undefined, 't1', 't2']);
    // The same token twice in a row is caught too.
    const stuck = listing([[1], [2]], ['t1', 't1']);
    expect(await collectPages(stuck.fetch, NEVER)).toMatchObject({ end: 'repeated-token', pages: 2 });
  });

  test('restartOn: starts over from the first page up to maxRestarts times (tokens seen before a restart may recur), then fails', async () => {
    const stale = named('InvalidNextToken');
    let failures = 1;
    const asked: (string | undefined)[] = [];
    const fetch = async (token: string | undefined): Promise<Page<number>> => {
      asked.push(token);
      if (token === 't1' && failures-- > 0) throw stale;
      return token === undefined ? { items: [1], nextToken: 't1' } : { items: [2] };
    };
    const options = { ...NEVER, restartOn: (err: unknown) => err === stale, maxRestarts: 1 };
    expect(await collectPages(fetch, options)).toEqual({ end: 'done', pages: 3, restarts: 1, items: [1, 1, 2] });
    expect(asked).toEqual([undefined, 't1', undefined, 't1']);
    failures = 5;
    expect(await collectPages(fetch, options)).toMatchObject({ end: 'failed', restarts: 1, error: stale });
    expect(await collectPages(fetch, { ...NEVER, restartOn: () => true })).toMatchObject({ end: 'failed', restarts: 0 });
  });

  test('any other failure ends the listing with "failed" and the error; the pager never throws it', async () => {
    const boom = named('InternalServerError');
    const fetch = async (token: string | undefined): Promise<Page<number>> => {
      if (token === undefined) return { items: [1], nextToken: 't1' };
      throw boom;
    };
    expect(await collectPages(fetch, NEVER)).toEqual({ end: 'failed', pages: 1, restarts: 0, error: boom, items: [1] });
  });

  test('onPage sees each page before the next is fetched, and answering false stops the listing', async () => {
    const { asked, fetch } = listing([[1], [2], [3]]);
    const seen: string[] = [];
    const result = await forEachPage(fetch, async (items) => {
      seen.push(`page ${items.join()} after ${asked.length} fetches`);
      return items[0] !== 2;
    }, NEVER);
    expect(result).toEqual({ end: 'stopped', pages: 2, restarts: 0 });
    expect(seen).toEqual(['page 1 after 1 fetches', 'page 2 after 2 fetches']);
  });
});

describe('collectAll (a listing that must be complete)', () => {
  test('returns every item of a complete listing', async () => {
    expect(await collectAll(listing([[1], [2]]).fetch, NEVER)).toEqual([1, 2]);
  });

  test('throws the failed call\'s error, DeadlineExceeded between pages, ListingIncomplete for a limit or a repeated token', async () => {
    const boom = named('ThrottlingException');
    await expect(collectAll(async () => {
      throw boom;
    }, NEVER)).rejects.toBe(boom);
    await expect(collectAll(listing([[1], [2]]).fetch, { deadlineNear: () => true })).rejects.toBeInstanceOf(DeadlineExceeded);
    await expect(collectAll(listing([[1], [2]], ['t1', 't1']).fetch, NEVER)).rejects.toMatchObject({ name: 'ListingIncomplete', end: 'repeated-token' });
    await expect(collectAll(listing([[1], [2]]).fetch, { ...NEVER, maxPages: 1 })).rejects.toEqual(new ListingIncomplete('max-pages'));
  });
});
