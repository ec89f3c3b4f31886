/**
 * Chooses the PowerShell runner a worker uses: the real one (node-powershell + Invoke-Command) in
 * production, or the lab estate for demos and tests. Credentials are read here, from the worker's own
 * environment, and never travel through Temporal.
 */
import fs from 'node:fs';
import type { WorkerEnv } from '../config/environment';
import { LabEstate } from '../lab/estate';
import { LabRunner } from '../lab/lab-runner';
import { readServiceAccountCredential, readServiceCredential } from '../powershell/credentials';
import { NodePowerShellRunner } from '../powershell/node-powershell-runner';
import type { PowerShellRunner } from '../runner/port';

/** Saves the lab estate after each call, so another process (or a restarted worker) sees its state. */
class PersistentLabRunner implements PowerShellRunner {
  private readonly inner: LabRunner;
  constructor(
    private readonly estate: LabEstate,
    private readonly file: string
  ) {
    this.inner = new LabRunner(estate, { latencyMs: 50 });
  }
  async run(call: Parameters<PowerShellRunner['run']>[0]) {
    try {
      return await this.inner.run(call);
    } finally {
      if (call.mode !== 'plan') this.estate.save(this.file);
    }
  }
  async close() {
    await this.inner.close();
    this.estate.save(this.file);
  }
}

export function runnerFromEnv(env: WorkerEnv): PowerShellRunner {
  if (env.FLEET_RUNNER === 'lab') {
    const file = env.FLEET_LAB_STATE;
    if (!file) throw new Error('FLEET_RUNNER=lab needs FLEET_LAB_STATE: the lab estate file the workers share');
    const estate = fs.existsSync(file) ? LabEstate.load(file) : LabEstate.create();
    return new PersistentLabRunner(estate, file);
  }
  return new NodePowerShellRunner({
    credentials: readServiceCredential(process.env),
    // The acceptance test acts as Monosync's service account; read here, never passed through Temporal.
    serviceAccountCredential: readServiceAccountCredential(process.env),
  });
}
