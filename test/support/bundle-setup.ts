import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { writeWorkflowBundle } from '../../src/runtime/workflow-bundle.js';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

/** For files that need only the workflow bundle (time-skipping tests): no database, no dev server. */
export default async function setup(project: TestProject) {
  mkdirSync(ARTIFACTS, { recursive: true });
  project.provide(
    'workflowBundlePath',
    await writeWorkflowBundle(`${ARTIFACTS}workflow-bundle.long-running.js`),
  );
}
