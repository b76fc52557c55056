export { changeOutcomeWorkflow } from './change-outcome.js';
export { matterWorkflow } from './matter.js';
export { reminderDigestWorkflow } from './reminder-digest.js';
