import { BadRequest } from '../../lambda/shared/request';
import {
  allowListedTags,
  checkTagRules,
  hasMarker,
  isValidTagKey,
  isValidTagValue,
  mergeTags,
  parseAllowedTags,
  parseDefaultTags,
  parseRequestTags,
  toSdkTags,
  type AllowedTag,
} from '../../lambda/shared/tags';

// Tag rules shared by create-activation and tag-node (docs/handler-contract.md). The request-level 400 rules are
// also exercised through each handler's core.

const MARKER = { key: 'hybrid-fleet:issuer', value: 'Stack/Api' };
const ALLOWED: AllowedTag[] = [{ key: 'PatchMode', values: ['report', 'enforce'] }, { key: 'Team' }];

describe('configuration', () => {
  test('parses default and allowed tags', () => {
    expect(parseDefaultTags({ Env: 'prod', Empty: '' })).toEqual({ Env: 'prod', Empty: '' });
    expect(parseDefaultTags({})).toEqual({});
    expect(parseAllowedTags([{ key: 'PatchMode', values: ['report'] }, { key: 'Team' }])).toEqual([
      { key: 'PatchMode', values: ['report'] },
      { key: 'Team' },
    ]);
    expect(parseAllowedTags([])).toEqual([]);
  });

  test('a __proto__ default tag becomes an own key, not a prototype', () => {
    const tags = parseDefaultTags(JSON.parse('{"__proto__":"x"}'));
    expect(Object.keys(tags)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(tags)).toBe(Object.prototype);
  });

  test.each<[string, () => unknown, RegExp]>([
    ['default tags not an object', () => parseDefaultTags(['a']), /JSON object/],
    ['a non-string default value', () => parseDefaultTags({ Env: 1 }), /must be a string/],
    ['a bad default key', () => parseDefaultTags({ 'a#': 'x' }), /not a valid tag key/],
    ['a bad default value', () => parseDefaultTags({ Env: 'a#' }), /not a valid tag value/],
    ['allowed tags not an array', () => parseAllowedTags({ key: 'Team' }), /JSON array/],
    ['an allowed tag without key', () => parseAllowedTags([{ values: ['a'] }]), /string "key"/],
    ['an allowed tag with an unknown field', () => parseAllowedTags([{ key: 'Team', value: 'a' }]), /unknown field "value"/],
    ['an invalid allowed key', () => parseAllowedTags([{ key: '' }]), /not a valid tag key/],
    ['allowed values not strings', () => parseAllowedTags([{ key: 'Team', values: [1] }]), /array of valid tag values/],
    ['a duplicate allowed key', () => parseAllowedTags([{ key: 'Team' }, { key: 'Team' }]), /listed twice/],
    ['an invalid marker key', () => checkTagRules({ key: '', value: 'v' }, []), /marker tag key/],
    ['an invalid marker value', () => checkTagRules({ key: 'k', value: 'a#b' }, []), /marker tag value/],
    ['Name as the marker key', () => checkTagRules({ key: 'Name', value: 'v' }, []), /must not be "Name"/],
    ['Name allowed', () => checkTagRules(MARKER, [{ key: 'Name' }]), /allowed tag key "Name" is reserved/],
    ['the marker key allowed', () => checkTagRules(MARKER, [{ key: MARKER.key }]), /allowed tag key "hybrid-fleet:issuer" is reserved/],
    ['a Name default', () => checkTagRules(MARKER, [], { Name: 'x' }), /default tag key "Name" is reserved/],
    ['a marker default', () => checkTagRules(MARKER, [], { [MARKER.key]: 'x' }), /is reserved/],
  ])('rejects %s', (_label, fn, message) => {
    expect(fn).toThrow(message);
  });

  test('accepts a valid marker with allowed and default tags', () => {
    expect(() => checkTagRules(MARKER, ALLOWED, { Env: 'prod' })).not.toThrow();
  });
});

describe('key and value patterns', () => {
  test.each<[string, boolean]>([
    ['Team', true],
    ['k'.repeat(128), true],
    ['𝒜'.repeat(128), true],
    ['k'.repeat(129), false],
    ['', false],
    ['a#b', false],
    ['aws:x/y=z+1-2@3_4.5 6', true],
  ])('key %j valid: %s', (key, valid) => {
    expect(isValidTagKey(key)).toBe(valid);
  });

  test.each<[string, boolean]>([
    ['', true],
    ['v'.repeat(256), true],
    ['v'.repeat(257), false],
    ['a\nb', false],
    ['Ünïcödé 名前', true],
  ])('value %j valid: %s', (value, valid) => {
    expect(isValidTagValue(value)).toBe(valid);
  });
});

describe('request tags', () => {
  test('accepts allow-listed keys and values; undefined is no tags', () => {
    expect(parseRequestTags({ PatchMode: 'report', Team: 'anything' }, ALLOWED)).toEqual(new Map([['PatchMode', 'report'], ['Team', 'anything']]));
    expect(parseRequestTags(undefined, ALLOWED)).toEqual(new Map());
  });

  test.each<[string, unknown, RegExp]>([
    ['not an object', ['Team'], /tags must be an object/],
    ['null', null, /tags must be an object/],
    ['a number value', { Team: 1 }, /string values/],
    ['an unknown key', { Owner: 'x' }, /tag key "Owner" is not allowed/],
    ['a bad key', { 'a#': 'x' }, /tag keys must be 1 to 128/],
    ['a value not in the list', { PatchMode: 'yolo' }, /value of tag "PatchMode" is not allowed/],
    ['a bad value', { Team: 'a#' }, /value of tag "Team" must be 0 to 256/],
  ])('rejects %s with BadRequest', (_label, tags, message) => {
    expect(() => parseRequestTags(tags, ALLOWED)).toThrow(BadRequest);
    expect(() => parseRequestTags(tags, ALLOWED)).toThrow(message);
  });

  test('is all-or-nothing: one bad tag among good ones rejects the lot', () => {
    expect(() => parseRequestTags({ Team: 'a', PatchMode: 'report', Owner: 'x' }, ALLOWED)).toThrow(/Owner/);
  });
});

describe('merging and shaping', () => {
  test('later layers replace values in place and append new keys', () => {
    const merged = mergeTags(new Map([['Name', 'n'], ['Env', 'a']]), { Env: 'b', Team: 't' }, [{ Key: 'X', Value: '1' }, { Key: 'Name', Value: 'm' }]);
    expect([...merged]).toEqual([['Name', 'm'], ['Env', 'b'], ['Team', 't'], ['X', '1']]);
    expect(toSdkTags(merged)).toEqual([
      { Key: 'Name', Value: 'm' },
      { Key: 'Env', Value: 'b' },
      { Key: 'Team', Value: 't' },
      { Key: 'X', Value: '1' },
    ]);
  });

  test('hasMarker needs the marker key with this API\'s value', () => {
    expect(hasMarker(new Map([[MARKER.key, MARKER.value]]), MARKER)).toBe(true);
    expect(hasMarker(new Map([[MARKER.key, 'Other/Api']]), MARKER)).toBe(false);
    expect(hasMarker(new Map(), MARKER)).toBe(false);
  });

  test('allowListedTags keeps allow-listed keys only, in allow-list order', () => {
    const tags = new Map([['Name', 'n'], [MARKER.key, MARKER.value], ['Team', 't'], ['Other', 'o'], ['PatchMode', 'report']]);
    const listed = allowListedTags(tags, ALLOWED);
    expect(listed).toEqual({ PatchMode: 'report', Team: 't' });
    expect(Object.keys(listed)).toEqual(['PatchMode', 'Team']);
  });

  test('allowListedTags handles a __proto__ key as data', () => {
    const listed = allowListedTags(new Map([['__proto__', 'x']]), [{ key: '__proto__' }]);
    expect(Object.keys(listed)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(listed)).toBe(Object.prototype);
  });
});
