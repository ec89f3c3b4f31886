/**
 * A worker process whose step activities start and then never finish: the script call hangs, as
 * PowerShell would on a wedged server. It prints `started <activity>` when one has begun, so a test can
 * SIGKILL it mid-activity, as a crash or an OOM kill would. Runs activities only.
 *
 * Usage: node --import tsx hanging-step-worker.ts <address> <taskQueue>
 */
import { activityInfo } from '@temporalio/activity';
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { PowerShellRunner } from '../../runner/port';

Runtime.install({ logger: new DefaultLogger('WARN') });

const hanging: PowerShellRunner = {
  run: () => {
    process.stdout.write(`started ${activityInfo().activityType}\n`);
    return new Promise(() => undefined);
  },
  close: async () => undefined,
};

async function main(): Promise<void> {
  const [address, taskQueue] = process.argv.slice(2);
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection, taskQueue, activities: createActivities(hanging) });
  process.stdout.write('ready\n');
  await worker.run();
}

void main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
