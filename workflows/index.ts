// The worker's workflowsPath entry: every workflow type the task queue runs, and nothing else.
export { deliveryWorkflow } from './delivery.workflow';
export { bulkRedriveWorkflow } from './bulk-redrive.workflow';
export { retentionPurgeWorkflow } from './retention.workflow';
