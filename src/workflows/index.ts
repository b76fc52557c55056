export { matterWorkflow } from './matter.js';
