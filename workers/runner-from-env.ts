/**
 * Chooses the PowerShell runner a worker uses: the real one (node-powershell + Invoke-Command) in
 * production, or the lab estate for demos and tests. Credentials are read here, from the worker's own
 * environment, and never travel through Temporal.
 */
import type { WorkerEnv } from '../config/environment';
import { LabEstate } from '../lab/estate';
import { LabRunner } from '../lab/lab-runner';
import { readServiceAccountCredential, readServiceCredential } from '../powershell/credentials';
import { NodePowerShellRunner } from '../powershell/node-powershell-runner';
import type { PowerShellRunner } from '../runner/port';

export function runnerFromEnv(env: WorkerEnv): PowerShellRunner {
  if (env.FLEET_RUNNER === 'lab') {
    const file = env.FLEET_LAB_STATE;
    if (!file) throw new Error('FLEET_RUNNER=lab needs FLEET_LAB_STATE: the lab estate file the workers share');
    // Each call reads and writes the file under its lock: the other worker process (and a restarted
    // worker) sees every change, and none is lost to a concurrent write.
    return new LabRunner(LabEstate.shared(file), { latencyMs: 50 });
  }
  return new NodePowerShellRunner({
    credentials: readServiceCredential(process.env),
    // The acceptance test acts as Monosync's service account; read here, never passed through Temporal.
    serviceAccountCredential: readServiceAccountCredential(process.env),
  });
}
