/**
 * Three projects. `unit` needs no infrastructure (no Postgres, no Temporal server): `npm run test:unit` runs it alone,
 * in seconds. `integration` and `faults` run against the Postgres, the Temporal dev server and the Java time-skipping
 * test server that tools/test.js starts; it starts them only when a selected test belongs to one of these two.
 * @type {import('jest').Config}
 */
const shared = {
  testEnvironment: 'node',
  testMatch: ['**/*.spec.ts'],
  // Type checking is done once by `tsc -p tsconfig.json --noEmit` in tools/test.js; here only transpile
  // (isolatedModules), including the one ESM-only package Fastify's static files plugin pulls in.
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  // The two packages by their published names, as their README examples import them.
  moduleNameMapper: {
    '^@intelliauth/webhooks-client$': '<rootDir>/packages/client/src',
    '^@intelliauth/webhooks-receiver$': '<rootDir>/packages/receiver/src',
  },
};

/**
 * Suites that run in this process alone: pure functions, the tooling's own parts, and workflow replay (the SDK
 * replays without a server).
 */
const UNIT_ROOTS = ['<rootDir>/test/unit', '<rootDir>/test/tools', '<rootDir>/test/replay'];

module.exports = {
  projects: [
    { ...shared, displayName: 'unit', roots: UNIT_ROOTS },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testPathIgnorePatterns: ['/test/unit/', '/test/tools/', '/test/replay/', '/test/faults/'],
    },
    // Each fault scenario starts a whole product of its own: tools/test.js runs them after the rest, one at a time.
    { ...shared, displayName: 'faults', roots: ['<rootDir>/test/faults'] },
  ],
  testTimeout: 120_000,
  // Two cores: one Temporal time-skipping server or e2e stack per jest worker.
  maxWorkers: 2,
};
