import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { SEARCH_ATTRIBUTE_KEYS } from '../../libs/contracts/delivery-workflow';

let runtimeInstalled = false;

/** Quiet: the test server lacks a capability the SDK core warns about once per worker. Once per process. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    shutdownSignals: [],
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
  runtimeInstalled = true;
}

/**
 * The Java time-skipping test server at `serverPath` (tools/embedded/toolchain.ts resolves it from Maven Central) or,
 * where that is missing, the SDK's own download. The product's search attributes are registered so the workflow's
 * upserts are accepted. Shared by the workflow tests and `npm run record-histories`.
 */
export async function createTimeSkippingEnv(serverPath: string | undefined): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping(
    serverPath ? { server: { executable: { type: 'existing-path', path: serverPath } } } : undefined,
  );
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTE_KEYS.map((key) => [key.name, 2 /* KEYWORD */])),
  });
  return env;
}

/** The product's workflow code (workflows/index.ts) bundled as the worker bundles it. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows/index'),
    logger: new DefaultLogger('WARN'),
  });
}
