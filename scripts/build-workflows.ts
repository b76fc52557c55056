import { resolve } from 'node:path';
import { writeWorkflowBundle } from '../src/runtime/workflow-bundle.js';

/** `npm run build:workflows [out]`: the bundle a worker loads when WORKFLOW_BUNDLE_PATH names it. */
const out = resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
process.stdout.write(`${await writeWorkflowBundle(out)}\n`);
