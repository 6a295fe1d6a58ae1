import { BadRequest, decodeBody, MAX_BODY_BYTES, parseBodyObject, parseJsonObject } from '../../lambda/shared/request';

// Body handling shared by the API handlers; the 400 rules are also exercised through each handler's core.

const FIELDS = new Set(['tags']);

test('decodeBody enforces the byte limit on plain and base64 bodies', () => {
  const exact = ' '.repeat(MAX_BODY_BYTES);
  expect(decodeBody(exact, false)).toBe(exact);
  expect(() => decodeBody(exact + ' ', false)).toThrow(/at most 8192 bytes/);
  expect(decodeBody(Buffer.from('{"a":1}').toString('base64'), true)).toBe('{"a":1}');
  expect(() => decodeBody(Buffer.from(exact + ' ').toString('base64'), true)).toThrow(BadRequest);
  expect(decodeBody(null, false)).toBe('');
});

test.each<[string, string, RegExp]>([
  ['invalid JSON', '{', /valid JSON/],
  ['an array', '[]', /JSON object/],
  ['null', 'null', /JSON object/],
])('parseJsonObject rejects %s', (_label, text, message) => {
  expect(() => parseJsonObject(text)).toThrow(message);
});

test('parseBodyObject rejects unknown fields, naming the first (cut to 64 characters)', () => {
  expect(parseBodyObject('{"tags":{}}', false, FIELDS)).toEqual({ tags: {} });
  expect(() => parseBodyObject('{"tags":{},"x":1}', false, FIELDS)).toThrow('unknown field "x"');
  expect(() => parseBodyObject(JSON.stringify({ ['y'.repeat(100)]: 1 }), false, FIELDS)).toThrow(`unknown field "${'y'.repeat(64)}"`);
});
