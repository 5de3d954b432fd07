import { join } from 'node:path';
import type * as WorkflowBundle from '../../apps/worker/src/workflow-bundle';

/**
 * The compiled worker (dist/, which `npm test` builds first) bundles its workflow code in a child process: the
 * bundle it gets back holds the delivery workflow, and a bundle that cannot be made fails the worker's start
 * with webpack's reason instead of a worker without workflows.
 */
const workflowsPath = join(__dirname, '../../dist/workflows/index.js');
let compiled: typeof WorkflowBundle;
beforeAll(async () => {
  compiled = (await import(join(__dirname, '../../dist/apps/worker/src/workflow-bundle.js'))) as typeof WorkflowBundle;
});

describe('the compiled worker bundles its workflows apart', () => {
  it('answers the bundle of the workflow code, and no workflowsPath for the worker to bundle again', async () => {
    const options = await compiled.workflowCodeOptions(workflowsPath, {});
    expect(options.workflowsPath).toBeUndefined();
    const code = (options.workflowBundle as { code: string }).code;
    expect(code).toContain('deliveryWorkflow');
    expect(code).toContain('bulkRedriveWorkflow');
  });

  it("keeps the source map's mappings to the workflow sources, without embedding the sources", async () => {
    const code = ((await compiled.workflowCodeOptions(workflowsPath, {})).workflowBundle as { code: string }).code;
    const marker = '//# sourceMappingURL=data:application/json;charset=utf-8;base64,';
    const at = code.lastIndexOf(marker);
    expect(at).toBeGreaterThan(0);
    const sourceMap = JSON.parse(Buffer.from(code.slice(at + marker.length).trim(), 'base64').toString()) as {
      sources: string[];
      mappings: string;
      sourcesContent?: unknown;
    };
    expect(sourceMap.sources).toContain(join(__dirname, '../../workflows/delivery.workflow.ts'));
    expect(sourceMap.mappings.length).toBeGreaterThan(1000);
    expect(sourceMap.sourcesContent).toBeUndefined();
  });

  it('compiles workflow interceptor modules into the bundle and leaves the worker only the activity ones', async () => {
    const activity = [() => ({})];
    const options = await compiled.workflowCodeOptions(workflowsPath, {
      interceptors: {
        workflowModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
        activity,
      },
    });
    expect(options.interceptors).toEqual({ activity });
    expect((options.workflowBundle as { code: string }).code).toContain('OpenTelemetryInboundInterceptor');
  });

  it("fails with the bundler's reason when the workflow code cannot be bundled", async () => {
    await expect(compiled.workflowCodeOptions(join(__dirname, 'no-such-workflows.js'), {})).rejects.toThrow(
      /^bundling the workflow code failed: .*no-such-workflows/,
    );
  });
});
