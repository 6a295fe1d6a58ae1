import { isHybridNodeId, isOnline, MANAGED_INSTANCE_ID, markerFilters } from '../../lambda/shared/nodes';

const MARKER = { key: 'hybrid-fleet:activation-api', value: 'Stack/Api' };

test('markerFilters: the marker tag filter, plus tag:Name when a name is given (tag filters only)', () => {
  expect(markerFilters(MARKER)).toEqual([{ Key: 'tag:hybrid-fleet:activation-api', Values: ['Stack/Api'] }]);
  expect(markerFilters(MARKER, 'web-01')).toEqual([
    { Key: 'tag:hybrid-fleet:activation-api', Values: ['Stack/Api'] },
    { Key: 'tag:Name', Values: ['web-01'] },
  ]);
});

test.each<[string | undefined, boolean]>([
  ['mi-0123456789abcdef0', true],
  ['mi-anything', true],
  ['i-0123456789abcdef0', false],
  ['', false],
  [undefined, false],
])('isHybridNodeId(%j) = %s', (id, expected) => {
  expect(isHybridNodeId(id)).toBe(expected);
});

test.each<[string, boolean]>([
  ['mi-0123456789abcdef0', true],
  ['mi-0123456789abcdef', false],
  ['mi-0123456789abcdef01', false],
  ['mi-0123456789ABCDEF0', false],
  ['i-0123456789abcdef0', false],
  [' mi-0123456789abcdef0', false],
])('MANAGED_INSTANCE_ID %j: %s', (id, expected) => {
  expect(MANAGED_INSTANCE_ID.test(id)).toBe(expected);
});

test('only PingStatus Online is online', () => {
  expect(isOnline({ PingStatus: 'Online' })).toBe(true);
  expect(isOnline({ PingStatus: 'ConnectionLost' })).toBe(false);
  expect(isOnline({ PingStatus: 'Inactive' })).toBe(false);
  expect(isOnline({})).toBe(false);
});
