// @ts-check
const { Command, Option } = require('commander');
const { Api, ApiError } = require('./api');
const { listen } = require('./listen');
const { trigger } = require('./trigger');

const print = {
  out: (/** @type {string} */ line) => process.stdout.write(`${line}\n`),
  err: (/** @type {string} */ line) => process.stderr.write(`${line}\n`),
};

/**
 * The API's address and credential (an API key or a portal session), from the options or the environment.
 * @param {Command} program
 * @returns {Promise<Api>}
 */
async function apiOf(program) {
  const { apiUrl, apiKey, portalSession } = program.opts();
  if (!apiUrl || (!apiKey && !portalSession)) {
    throw new Error(
      'the API is named by --api-url (INTELLIAUTH_WEBHOOKS_URL), the credential by --api-key ' +
        '(INTELLIAUTH_WEBHOOKS_KEY) or --portal-session (INTELLIAUTH_WEBHOOKS_PORTAL_SESSION)',
    );
  }
  if (apiKey && portalSession) throw new Error('give an API key or a portal session, not both');
  return apiKey ? Api.withKey(apiUrl, apiKey) : Api.withPortalSession(apiUrl, portalSession);
}

/**
 * Runs a command with the API, then ends the portal session the tool opened for it, if it opened one.
 * @param {Command} program
 * @param {(api: Api) => Promise<number>} command
 * @returns {Promise<number>}
 */
async function withApi(program, command) {
  const api = await apiOf(program);
  try {
    return await command(api);
  } finally {
    await api.endOwnSession();
  }
}

/**
 * Runs a command and exits with its code; an error is one line on stderr, never a stack.
 * @param {() => Promise<number>} command
 */
async function exitWith(command) {
  try {
    process.exitCode = await command();
  } catch (error) {
    const message =
      error instanceof ApiError
        ? `the API refused (${error.status} ${error.code}): ${error.message}`
        : /** @type {Error} */ (error).message;
    print.err(`intelliauth-webhooks: ${message}`);
    process.exitCode = 1;
  }
}

/** @param {string[]} argv */
function run(argv) {
  const program = new Command('intelliauth-webhooks')
    .description(
      "IntelliAuth Webhooks for a receiver's developer: a tenant's deliveries on a local receiver, no public URL",
    )
    .addOption(
      new Option('--api-url <url>', "the API's address, e.g. http://127.0.0.1:3000").env('INTELLIAUTH_WEBHOOKS_URL'),
    )
    .addOption(
      new Option('--api-key <key>', 'a tenant key (iaw_tk_…) or a service key').env('INTELLIAUTH_WEBHOOKS_KEY'),
    )
    .addOption(
      new Option(
        '--portal-session <session>',
        "the tenant's portal session: a portal link or its token (iaw_pt_…), or the portal cookie's value (iaw_ps_…)",
      ).env('INTELLIAUTH_WEBHOOKS_PORTAL_SESSION'),
    )
    .showHelpAfterError();

  program
    .command('listen')
    .description("forward the tenant's deliveries to a local receiver, signed as the product signs them, until Ctrl-C")
    .requiredOption('--forward-to <url>', 'the local receiver, e.g. http://localhost:3000/hooks')
    .option('--events <filters>', "comma-separated event types or filters, e.g. 'user.*,security.*'", '*')
    .option('--tenant <id>', 'the tenant to listen to (a service key only; a tenant key or portal session: its own)')
    .action((options) =>
      exitWith(() =>
        withApi(program, (api) =>
          listen(
            api,
            {
              forwardTo: options.forwardTo,
              events: options.events.split(',').map((/** @type {string} */ filter) => filter.trim()),
              tenant: options.tenant,
            },
            print,
          ),
        ),
      ),
    );

  program
    .command('trigger')
    .description(
      "send the catalogue's example of an event type: published to --tenant (service key) or test-sent to the listen session (tenant key, portal session)",
    )
    .argument('<event-type>', 'a catalogue event type, e.g. user.signed_up')
    .option('--tenant <id>', 'the tenant to publish to (a service key)')
    .option(
      '--session <id>',
      "the listen session to test-send to (a tenant key or portal session; default: the tenant's newest)",
    )
    .action((eventType, options) =>
      exitWith(() =>
        withApi(program, (api) => trigger(api, eventType, { tenant: options.tenant, session: options.session }, print)),
      ),
    );

  return program.parseAsync(argv);
}

module.exports = { run };
