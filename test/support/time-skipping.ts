import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { testServerPath } from '../../src/runtime/tools.js';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';

const WORKFLOWS_PATH = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

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
 * The test server with the workflows bundled and the matter's search attributes registered: the
 * server rejects `upsertSearchAttributes` for unknown keys, and the workflow task would retry forever.
 */
export async function startMatterEnvironment(): Promise<{
  env: TestWorkflowEnvironment;
  workflowBundle: WorkflowBundle;
}> {
  const [env, workflowBundle] = await Promise.all([
    startTimeSkipping(),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') }),
  ]);
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      SEARCH_ATTRIBUTES.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)!]),
    ),
  });
  return { env, workflowBundle };
}
