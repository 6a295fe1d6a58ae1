import { HANDLER_RUNTIME } from '../../lib/private/handler-code';

// scripts/bundle.js is plain CommonJS run before compilation; it derives the esbuild target from HANDLER_RUNTIME.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { bundleTarget } = require('../../scripts/bundle.js') as { bundleTarget: () => string };

test('the bundle target is the Node.js major of the Lambda runtime', () => {
  expect(HANDLER_RUNTIME.name).toMatch(/^nodejs\d+\.x$/);
  expect(bundleTarget()).toBe(`node${/^nodejs(\d+)\.x$/.exec(HANDLER_RUNTIME.name)![1]}`);
});

