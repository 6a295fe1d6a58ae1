/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // The construct tests synthesize with schema validation, cdk-nag and cfn-guard on; give them room on 2 cores.
  testTimeout: 60000,
  maxWorkers: 2,
};
