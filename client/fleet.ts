/**
 * The `fleet` CLI: a thin layer over @temporalio/client. Every input is validated before anything
 * is started; errors name the field and the fix. Exit codes: 0 ok, 1 refused or failed, 2 bad
 * arguments or input, 3 not found.
 */
import { Command, CommanderError, Option } from 'commander';
import { RISK_KINDS } from '../domain/steps';
import { explain } from './cli-error';
import { connect, currentPerson, type CliContext } from './connect';
import { approvalsCommand, decideCommand } from './commands/approvals';
import { signDecisionCommand } from './commands/sign-decision';
import { signRequestCommand } from './commands/sign-request';
import { cancelCommand } from './commands/cancel';
import { codecServerCommand, type CodecServerCommandOptions } from './commands/codec-server';
import { failureTable } from './commands/failures';
import { onboardCommand } from './commands/onboard';
import { operatorCommand } from './commands/operator';
import { planCommand } from './commands/plan';
import { reportCommand } from './commands/report';
import { registerRotationCommands } from './commands/rotation';
import { scriptCommand } from './commands/script';
import { statusCommand } from './commands/status';

type Action = (ctx: CliContext) => Promise<number>;

/** Connects, runs one command, closes; the exit code is stored for `main`. */
async function withClient(action: Action): Promise<void> {
  const ctx = await connect();
  try {
    process.exitCode = await action(ctx);
  } finally {
    await ctx.close();
  }
}

function buildProgram(): Command {
  const program = new Command('fleet')
    .description('Onboard fleets of Exchange servers to Monosync with durable Temporal workflows')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const as = () => new Option('--as <person>', 'who you are (default: FLEET_USER or your login name)');
  const key = (what: string) =>
    new Option(
      '--key <file>',
      `your Ed25519 private key (OpenSSH or PEM file, or ssh-agent:<comment or public key>) to sign ${what} with; default FLEET_APPROVER_KEY_FILE`
    );
  const sshAgent = () => new Option('--ssh-agent', 'sign with your Ed25519 key in ssh-agent (SSH_AUTH_SOCK)');

  program
    .command('onboard')
    .description('validate a fleet file and start onboarding it (once: a running fleet is not started again)')
    .argument('<fleet.yaml>', 'the fleet file')
    .addOption(as())
    .addOption(key('the request'))
    .addOption(sshAgent())
    .option('--signature <file>', 'a request signature written by `fleet sign-request`, instead of signing here')
    .option('--wait', 'follow the run with a progress bar until it is done', false)
    .action((file: string, o: { as?: string; wait: boolean; key?: string; sshAgent?: boolean; signature?: string }) =>
      withClient((ctx) => onboardCommand(ctx, file, { ...o, requestedBy: currentPerson(o.as) }))
    );

  program
    .command('sign-request')
    .description('print your signature on a request to onboard a fleet file, for `fleet onboard --signature`')
    .argument('<fleet.yaml>', 'the fleet file, exactly as it will be started')
    .addOption(as())
    .addOption(key('the request'))
    .addOption(sshAgent())
    .action(async (file: string, o: { as?: string; key?: string; sshAgent?: boolean }) => {
      process.exitCode = await signRequestCommand(file, currentPerson(o.as), o);
    });

  program
    .command('plan')
    .description('show what every step would change on every server, and which changes need approval; changes nothing')
    .argument('<fleet.yaml>', 'the fleet file')
    .option('--json', 'print JSON', false)
    .action((file: string, o: { json: boolean }) => withClient((ctx) => planCommand(ctx, file, o)));

  program
    .command('status')
    .description('the fleet and a table of servers × steps')
    .argument('<fleetId>', 'the fleet id (the `fleet:` field of the file)')
    .option('--json', 'print JSON', false)
    .action((fleetId: string, o: { json: boolean }) => withClient((ctx) => statusCommand(ctx, fleetId, o)));

  program
    .command('approvals')
    .description('pending risky changes with their exact text and the command that approves each')
    .argument('<fleetId>')
    .option('--json', 'print JSON', false)
    .action((fleetId: string, o: { json: boolean }) => withClient((ctx) => approvalsCommand(ctx, fleetId, o)));

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(`${decision} pending changes by id, or one kind of change across the fleet (--kind)`)
      .argument('<fleetId>')
      .argument('[changeIds...]', 'change ids from `fleet approvals`')
      .addOption(as())
      .option('--reason <text>', 'why (recorded with your name); required')
      .addOption(
        new Option('--kind <kind>', 'decide one kind of change for all (or --servers) servers').choices([...RISK_KINDS])
      )
      .option('--servers <fqdns>', 'with --kind: comma-separated servers instead of all')
      .addOption(key('the decision'))
      .addOption(sshAgent())
      .action(
        (
          fleetId: string,
          changeIds: string[],
          o: { as?: string; reason?: string; kind?: string; servers?: string; key?: string; sshAgent?: boolean }
        ) =>
          withClient((ctx) => decideCommand(ctx, fleetId, changeIds, { ...o, decision, approver: currentPerson(o.as) }))
      );
  }

  program
    .command('sign-decision')
    .description('print a signed decideChange to paste as a signal in the Temporal Web UI')
    .argument('<fleetId>')
    .argument('<changeId>')
    .addOption(
      new Option('--decision <decision>', 'approve or reject').choices(['approve', 'reject']).default('approve')
    )
    .addOption(as())
    .option('--reason <text>', 'why (recorded with your name); required')
    .addOption(key('the decision'))
    .addOption(sshAgent())
    .action(
      (
        fleetId: string,
        changeId: string,
        o: { decision: 'approve' | 'reject'; as?: string; reason?: string; key?: string; sshAgent?: boolean }
      ) => withClient((ctx) => signDecisionCommand(ctx, fleetId, changeId, { ...o, approver: currentPerson(o.as) }))
    );

  for (const action of ['retry', 'skip', 'abort'] as const) {
    const what = {
      retry: 'retry the failed step',
      skip: 'skip the failed step and go on',
      abort: 'stop onboarding this server',
    }[action];
    program
      .command(action)
      .description(`for a server waiting for an operator: ${what}`)
      .argument('<fleetId>')
      .argument('<fqdn>')
      .addOption(as())
      .option('--reason <text>', 'why (recorded with your name); required')
      .addOption(key('the action'))
      .addOption(sshAgent())
      .action((fleetId: string, fqdn: string, o: { as?: string; reason?: string; key?: string; sshAgent?: boolean }) =>
        withClient((ctx) =>
          operatorCommand(ctx, action, fleetId, fqdn, {
            operator: currentPerson(o.as),
            reason: o.reason,
            key: o.key,
            sshAgent: o.sshAgent,
          })
        )
      );
  }

  program
    .command('report')
    .description('what happened on every server, with decisions, as Markdown or JSON')
    .argument('<fleetId>')
    .addOption(new Option('--format <format>', 'output format').choices(['markdown', 'json']).default('markdown'))
    .option('--out <file>', 'write to a file instead of stdout')
    .action((fleetId: string, o: { format: 'markdown' | 'json'; out?: string }) =>
      withClient((ctx) => reportCommand(ctx, fleetId, o))
    );

  program
    .command('cancel')
    .description('cancel a running fleet and its servers in flight')
    .argument('<fleetId>')
    .action((fleetId: string) => withClient((ctx) => cancelCommand(ctx, fleetId)));

  registerRotationCommands(program, withClient);

  program
    .command('script')
    .description('write the standalone PowerShell script of a step, exactly what the runner sends (no Temporal needed)')
    .argument('<step>', 'a step id (ensureHttpsListener) or its script name (Set-HttpsListener)')
    .option('--out <file>', 'write to a file instead of stdout')
    .action((step: string, o: { out?: string }) => {
      process.exitCode = scriptCommand(step, o);
    });

  program
    .command('codec-server')
    .description("decrypt payloads for the Web UI: Temporal's codec server protocol (POST /encode, /decode)")
    .requiredOption('--ui-origin <url>', 'the Web UI origin allowed by CORS, e.g. http://localhost:8233')
    .option('--port <port>', 'port to listen on', '8888')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--auth-token-file <file>', 'require `Authorization: Bearer <token>` with the token in this file')
    .action(async (o: CodecServerCommandOptions) => {
      process.exitCode = await codecServerCommand(o);
    });

  program
    .command('failures')
    .description('the failure table: which failures are retried and which wait for an operator (Markdown)')
    .action(() => {
      console.log(failureTable());
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; anything else commander rejects is a usage error.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
        ? 0
        : 2;
    }
    const { message, exitCode } = explain(err);
    console.error(`fleet: ${message}`);
    return exitCode;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
