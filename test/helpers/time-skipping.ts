import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createTimeSkippingEnv as createTimeSkippingEnvOn } from '../../tools/workflow-testing/time-skipping';

export { bundleWorkflows, installQuietRuntime } from '../../tools/workflow-testing/time-skipping';

/** On the Java test server tools/test.js resolved (TEMPORAL_TEST_SERVER_PATH), else the SDK's own download. */
export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return createTimeSkippingEnvOn(process.env.TEMPORAL_TEST_SERVER_PATH);
}
