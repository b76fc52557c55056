import { existsSync } from 'node:fs';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type WorkflowBundleOption } from '@temporalio/worker';
import { inject } from 'vitest';
import { testServerPath } from '../../src/runtime/tools.js';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';

/** Temporal's time-skipping test server from `.tools`, with the SDK's own logging kept to errors. */
export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  const path = testServerPath();
  if (!existsSync(path)) throw new Error(`no time-skipping test server at ${path}`);
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // A Runtime already exists in this process: keep it.
  }
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path } },
  });
}

/**
 * The test server with the run's workflow bundle and the matter's search attributes registered: the
 * server rejects `upsertSearchAttributes` for unknown keys, and the workflow task would retry forever.
 */
export async function startMatterEnvironment(): Promise<{
  env: TestWorkflowEnvironment;
  workflowBundle: WorkflowBundleOption;
}> {
  const env = await startTimeSkipping();
  const workflowBundle = { codePath: inject('workflowBundlePath') };
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      SEARCH_ATTRIBUTES.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)!]),
    ),
  });
  return { env, workflowBundle };
}
