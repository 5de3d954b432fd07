/** The contract tools' paths: set by tools/test.js, or installed (once, cached) here when jest runs alone. */
export function contractTool(
  name:
    | 'TEST_CONTRACT_PYTHON'
    | 'TEST_SCHEMATHESIS'
    | 'TEST_GRPCURL'
    | 'TEST_BUF'
    | 'TEST_PROMTOOL'
    | 'TEST_DOCKER_COMPOSE'
    | 'TEST_HELM',
): string {
  if (!process.env[name]) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain script shared with tools/test.js
    const { contractTools } = require('../../tools/contract-tools.js') as {
      contractTools: () => Record<string, string>;
    };
    Object.assign(process.env, contractTools());
  }
  return process.env[name] as string;
}
