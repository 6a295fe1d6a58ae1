import { classifyError, errorNameOf, errorStackOf, failureOutcomeOf, isErrorNamed, isSdkError } from '../../lambda/shared/ssm-errors';

// Classification of failed SSM calls, shared by create-activation and tag-node (docs/handler-contract.md).

const sdkError = (name: string, message = 'boom', extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(message), { name, ...extra });

describe('error classification', () => {
  const notExisting = 'Not existing role: arn:aws:iam::123456789012:role/HybridNodeRole';
  test.each<[string, unknown, ReturnType<typeof classifyError>]>([
    ['ThrottlingException', sdkError('ThrottlingException', 'Rate exceeded', { $metadata: { httpStatusCode: 400 } }), 'throttled'],
    ['TooManyRequestsException', sdkError('TooManyRequestsException'), 'throttled'],
    ['HTTP 429', sdkError('Whatever', 'x', { $metadata: { httpStatusCode: 429 } }), 'throttled'],
    ['$retryable.throttling', sdkError('Whatever', 'x', { $retryable: { throttling: true } }), 'throttled'],
    ['InternalServerError 500', sdkError('InternalServerError', 'x', { $metadata: { httpStatusCode: 500 } }), 'unavailable'],
    ['any 503', sdkError('Unknown', 'x', { $metadata: { httpStatusCode: 503 } }), 'unavailable'],
    ['TimeoutError', sdkError('TimeoutError', 'socket timed out'), 'unavailable'],
    ['RequestTimeout', sdkError('RequestTimeout'), 'unavailable'],
    ['ECONNRESET code', sdkError('Error', 'socket hang up', { code: 'ECONNRESET' }), 'unavailable'],
    ['ECONNREFUSED in the message', sdkError('Error', 'connect ECONNREFUSED 10.0.0.1:443'), 'unavailable'],
    ['$retryable without throttling', sdkError('Whatever', 'x', { $retryable: {} }), 'unavailable'],
    ['ValidationException: Not existing role', sdkError('ValidationException', notExisting), 'role-not-visible'],
    ['InvalidParameters: not existing role', sdkError('InvalidParameters', 'not existing role'), 'role-not-visible'],
    ['ValidationException, other message', sdkError('ValidationException', 'Tags failed to satisfy constraint'), 'internal'],
    ['AccessDeniedException', sdkError('AccessDeniedException', 'not authorized', { $metadata: { httpStatusCode: 400 } }), 'internal'],
    ['"not existing role" from an unrelated error', sdkError('AccessDeniedException', notExisting), 'internal'],
    ['a TypeError', new TypeError('x is undefined'), 'internal'],
    ['a thrown string', 'ECONN', 'internal'],
    ['undefined', undefined, 'internal'],
  ])('%s → %s', (_label, err, expected) => {
    expect(classifyError(err)).toBe(expected);
  });
});

describe('failure outcomes', () => {
  test.each<[string, unknown, ReturnType<typeof failureOutcomeOf>]>([
    ['throttling', sdkError('ThrottlingException'), 'throttled'],
    ['a 5xx', sdkError('InternalServerError', 'x', { $metadata: { httpStatusCode: 500 } }), 'unavailable'],
    ['a role SSM cannot see yet', sdkError('ValidationException', 'Not existing role: arn:aws:iam::1:role/r'), 'unavailable'],
    ['a timeout', sdkError('TimeoutError'), 'unavailable'],
    ['anything else', sdkError('AccessDeniedException'), 'error'],
    ['a thrown string', 'x', 'error'],
  ])('%s → %s', (_label, err, expected) => {
    expect(failureOutcomeOf(err)).toBe(expected);
  });
});

describe('error names', () => {
  test('errorNameOf reads the name only, defaulting to Error', () => {
    expect(errorNameOf(sdkError('InvalidInstanceId', 'secret detail'))).toBe('InvalidInstanceId');
    expect(errorNameOf({ name: 42 })).toBe('Error');
    expect(errorNameOf('a string')).toBe('Error');
    expect(errorNameOf(undefined)).toBe('Error');
  });

  test('isErrorNamed matches any of the names exactly', () => {
    const err = sdkError('InvalidInstanceId');
    expect(isErrorNamed(err, 'InvalidInstanceId')).toBe(true);
    expect(isErrorNamed(err, 'InvalidResourceId', 'InvalidInstanceId')).toBe(true);
    expect(isErrorNamed(err, 'InvalidInstanceIdX', 'invalidinstanceid')).toBe(false);
    expect(isErrorNamed(undefined, 'Error')).toBe(false);
    expect(isErrorNamed(null, 'Error')).toBe(false);
  });
});

describe('errors that are not SDK errors are logged with their stack', () => {
  test.each<[string, unknown]>([
    ['a modeled exception ($metadata, $fault)', sdkError('AccessDeniedException', 'not authorized', { $fault: 'client', $metadata: { httpStatusCode: 400 } })],
    ['$retryable', sdkError('Whatever', 'x', { $retryable: {} })],
    ['a socket error (code)', sdkError('Error', 'socket hang up', { code: 'ECONNRESET' })],
    ['an abort', sdkError('AbortError', 'This operation was aborted')],
    ['a socket timeout', sdkError('TimeoutError', 'socket timed out')],
  ])('%s: an SDK error, logged by name only', (_label, err) => {
    expect(isSdkError(err)).toBe(true);
    expect(errorStackOf(err)).toBeUndefined();
  });

  test('a TypeError: its stack, message first', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    expect(isSdkError(bug)).toBe(false);
    expect(errorStackOf(bug)).toBe(bug.stack);
    expect(errorStackOf(bug)).toMatch(/^TypeError: Cannot read properties of undefined \(reading 'x'\)\n\s+at /);
  });

  test('an Error without a stack: name and message', () => {
    const bug = Object.assign(new Error('no code in the answer'), { stack: undefined });
    expect(errorStackOf(bug)).toBe('Error: no code in the answer');
  });

  test('a thrown non-Error: its type only, never its value', () => {
    expect(errorStackOf('SECRET')).toBe('non-Error value thrown: string');
  });
});
