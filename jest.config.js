/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment with one CloudFormation schema validator per worker (see the file).
  testEnvironment: '<rootDir>/test/support/jest-environment.js',
  moduleNameMapper: { '^@aws/cloudformation-validate$': '<rootDir>/test/support/cloudformation-validate.js' },
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // TypeScript is transpiled file by file with esbuild; the type-check is its own step of npm test (see the file).
  transform: { '^.+\\.ts$': '<rootDir>/test/support/esbuild-transform.js' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // The construct tests synthesize with schema validation, cdk-nag and cfn-guard on; give them room on 2 cores.
  testTimeout: 60000,
  maxWorkers: 2,
  // Longest files first, on a fresh clone too (see the file).
  testSequencer: '<rootDir>/test/support/sequencer.js',
};
