import { existsSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { testServerPath } from '../../src/runtime/tools.js';

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
