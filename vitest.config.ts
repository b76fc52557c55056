import { defineConfig } from 'vitest/config';

/**
 * Beside the rest but in one worker of the two: the 10,000-reminder run keeps a core busy for 5–7 min and
 * starved past 15 min when the integration files had both cores beside it.
 */
const LONG_RUNNING = ['test/workflow/matter-workflow.test.ts'];

/**
 * Faults whose promises are about time (answers within the action timeout, a rate held for a minute)
 * run last, one at a time: beside another file they would measure the neighbour.
 */
const ISOLATED = [
  'test/faults/database-outage.test.ts',
  'test/faults/engine-restart.test.ts',
  'test/faults/load.test.ts',
  'test/faults/process-faults.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test/artifacts/vitest-report.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: [...LONG_RUNNING, ...ISOLATED],
          globalSetup: ['test/support/global-setup.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'long-running',
          include: LONG_RUNNING,
          globalSetup: ['test/support/bundle-setup.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'isolated',
          include: ISOLATED,
          maxWorkers: 1,
          globalSetup: ['test/support/global-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
