// Jest runs the pages in miniprogram-simulate (jsdom) against a real Banshi that
// test/global-setup.ts builds and starts; TypeScript is transpiled by ts-jest (tsc --noEmit
// type-checks everything first, in `npm test`).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'jsdom',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  setupFiles: ['<rootDir>/test/wx-shim.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 60000,
}
