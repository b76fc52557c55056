export { changeOutcomeWorkflow } from './change-outcome.js';
export { matterWorkflow } from './matter.js';
