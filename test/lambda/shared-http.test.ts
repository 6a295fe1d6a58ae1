import { badRequest, conflict, notFound, tooManyRequests, unavailable } from '../../lambda/shared/http';

// Status codes and response shapes are decided in lambda/shared/http.ts; these pin the ones the lifecycle added.

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

test('409 is the plain error body: no node id', () => {
  const response = conflict("a node named 'web-01' registered through this API is online", 'req-1');
  expect(response.statusCode).toBe(409);
  expect(response.headers).toEqual(JSON_HEADERS);
  expect(JSON.parse(response.body)).toEqual({
    message: "a node named 'web-01' registered through this API is online",
    requestId: 'req-1',
  });
  expect(response.body).not.toContain('mi-');
});

test('429 for a quota has no Retry-After (waiting does not help)', () => {
  const response = tooManyRequests('ceiling reached', 'req-2');
  expect(response.statusCode).toBe(429);
  expect(response.headers).toEqual(JSON_HEADERS);
  expect(JSON.parse(response.body)).toEqual({ message: 'ceiling reached', requestId: 'req-2' });
});

test('404 defaults to "not found" and takes a specific message', () => {
  expect(JSON.parse(notFound('req-3').body)).toEqual({ message: 'not found', requestId: 'req-3' });
  expect(JSON.parse(notFound('req-4', 'no node mi-1 registered through this API').body)).toEqual({
    message: 'no node mi-1 registered through this API',
    requestId: 'req-4',
  });
});

test('503 carries Retry-After: 5; 400 does not', () => {
  expect(unavailable('later', 'r').headers).toEqual({ ...JSON_HEADERS, 'Retry-After': '5' });
  expect(badRequest('bad', 'r').headers).toEqual(JSON_HEADERS);
});
