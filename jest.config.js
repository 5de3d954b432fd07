/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  // Type checking is done once by `tsc -p tsconfig.json --noEmit` in scripts/test.js; here only transpile
  // (isolatedModules), including the one ESM-only package Fastify's static files plugin pulls in.
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  // The two packages by their published names, as their README examples import them.
  moduleNameMapper: {
    '^@intelliauth/webhooks-client$': '<rootDir>/packages/client/src',
    '^@intelliauth/webhooks-receiver$': '<rootDir>/packages/receiver/src',
  },
  testTimeout: 120_000,
  // Two cores: one Temporal time-skipping server or e2e stack per jest worker.
  maxWorkers: 2,
  // Temporal's native runtime can keep handles open after teardown (sdk-typescript #928).
  forceExit: true,
};
