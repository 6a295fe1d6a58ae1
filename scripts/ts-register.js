// Runs TypeScript entry points (bin/, scripts/) straight from source: transpile-only (type-checking is `npm run
// typecheck`), and `.ts` preferred over the `.js` that jsii compiles next to each file in lib/.
'use strict';
require('ts-node').register({ transpileOnly: true, preferTsExts: true });
