import { fork } from 'node:child_process';
import type { WorkerOptions } from '@temporalio/worker';

/** What the bundling process answers: the bundle's code, or why webpack could not make it. */
type BundleReply = { code: string } | { error: string };

/**
 * Where the worker's workflow code comes from. Compiled (dist/), webpack bundles it in a child process and the
 * worker loads the finished bundle: bundling inside the worker leaves its heap and RSS markedly larger for the life
 * of the process, because webpack's garbage is never handed back to the system. Bundling at each start, not at build time, means the bundle
 * can never be older than the code beside it. Run from TypeScript sources (ts-jest), there is no compiled file to
 * fork, and the worker bundles itself as before.
 */
export async function workflowCodeOptions(
  workflowsPath: string,
  tracing: Pick<WorkerOptions, 'interceptors'>,
): Promise<Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle' | 'interceptors'>> {
  if (__filename.endsWith('.ts')) return { workflowsPath, ...tracing };
  // Workflow interceptors are compiled into the bundle; the worker itself keeps the activity ones.
  const { workflowModules = [], ...interceptors } = tracing.interceptors ?? {};
  const code = await bundleApart(workflowsPath, workflowModules);
  return { workflowBundle: { code }, ...tracing, interceptors };
}

function bundleApart(workflowsPath: string, workflowInterceptorModules: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [JSON.stringify({ workflowsPath, workflowInterceptorModules })], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let reply: BundleReply | undefined;
    child.once('message', (message: BundleReply) => (reply = message));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (reply && 'code' in reply) resolve(reply.code);
      else
        reject(
          new Error(
            `bundling the workflow code failed: ${reply?.error ?? `the bundler exited (${signal ?? `exit code ${code}`})`}`,
          ),
        );
    });
  });
}

/**
 * How the worker runs its workflow sandbox.
 *
 * On the worker's own thread (`debugMode`, the SDK's name for it): otherwise the SDK runs the sandbox on a worker
 * thread of its own, with an isolate and heap of its own, and every activation and its completion cross between the
 * threads as structured clones. Run here, a delivery costs the worker less CPU and the worker holds one heap
 * instead of two. A delivery's workflow task is short (its history is a handful of events, its attempt a local
 * activity that waits on I/O, not on this thread), so running it here keeps the event loop as free as before.
 *
 * Without deadlock detection: it gives every call into the sandbox a time limit, which Node enforces with a watchdog
 * thread created and joined for that call alone, several per delivery, many times the call's own CPU. The workflow
 * code is this project's own, small and lint-checked; the price is that a runaway loop in it would hang the worker
 * instead of failing one workflow task.
 *
 * The SDK also records, at every promise a workflow creates, a stack trace of where it was created (a promise hook
 * that builds an Error and source-maps its frames), so that the `__stack_trace` query can list where a workflow
 * waits: about a third of the sandbox's CPU per delivery. A delivery's run only ever waits in one place, its
 * attempt or its retry timer, which the `state` query and the history already show; the Web UI's Stack Trace tab
 * answers "not enabled" for it instead.
 *
 * patches/@temporalio+worker+*.patch (applied by npm's postinstall) makes the SDK leave the limit out when it is not
 * finite, adds `workflowStackTraces`, and declares both options, which the SDK does not expose yet.
 */
export const WORKFLOW_SANDBOX_OPTIONS = {
  debugMode: true,
  isolateExecutionTimeout: Infinity,
  workflowStackTraces: false,
} satisfies Pick<WorkerOptions, 'debugMode' | 'isolateExecutionTimeout' | 'workflowStackTraces'>;

/**
 * The bundle's inline source map keeps its mappings (workflow stack traces still name the TypeScript file and line)
 * but not the 600 KB of sources it would otherwise embed: the SDK reads them only with showStackTraceSources, which
 * this worker leaves off, yet every copy of the map held them, which kept the worker's resident memory higher at
 * start and under load.
 */
const SOURCE_MAP_WITHOUT_SOURCES = 'inline-nosources-source-map';

async function bundleAndReply(): Promise<void> {
  const { bundleWorkflowCode, DefaultLogger } = await import('@temporalio/worker');
  const request = JSON.parse(process.argv[2]) as { workflowsPath: string; workflowInterceptorModules: string[] };
  try {
    const { code } = await bundleWorkflowCode({
      ...request,
      logger: new DefaultLogger('WARN'),
      webpackConfigHook: (config) => ({ ...config, devtool: SOURCE_MAP_WITHOUT_SOURCES }),
    });
    await reply({ code });
  } catch (error) {
    await reply({ error: (error as Error).message });
  }
  process.disconnect?.();
}

function reply(message: BundleReply): Promise<void> {
  return new Promise((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));
}

if (require.main === module) void bundleAndReply();
