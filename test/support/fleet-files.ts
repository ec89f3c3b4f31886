/** Fleet files and lab estates for tests that drive the CLI the way an operator would. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { FleetSpec } from '../../domain/fleet';
import { LabEstate } from '../../lab/estate';

/** Risky steps off except TrustedHosts '*', so one approval per server is asked for. */
export const ONE_APPROVAL_POLICY = {
  delegation: 'skip',
  cbtHardeningLevel: 'Relaxed',
  trustedHosts: { applyOn: 'exchange', value: 'any' },
};

/** No risky change at all. */
export const SAFE_POLICY = {
  delegation: 'skip',
  cbtHardeningLevel: 'Relaxed',
  trustedHosts: { applyOn: 'monosync', value: 'this-server' },
};

export function estateFor(spec: FleetSpec): LabEstate {
  return LabEstate.create({
    settings: { domain: 'corp.example', serviceAccount: spec.serviceAccount, monosyncServers: spec.monosyncServers },
  });
}

/** The fleet file a person would write for `spec`. */
export function writeFleetFile(spec: FleetSpec): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-')), 'fleet.yaml');
  fs.writeFileSync(
    file,
    YAML.stringify({
      fleet: spec.fleetId,
      serviceAccount: spec.serviceAccount,
      monosyncServers: spec.monosyncServers,
      approvers: spec.approvers,
      policy: spec.policy,
      settings: {
        ...spec.settings,
        approvalTimeout: `${spec.settings.approvalTimeout}ms`,
        stepRetry: {
          initialInterval: `${spec.settings.stepRetry.initialInterval}ms`,
          maximumAttempts: spec.settings.stepRetry.maximumAttempts,
        },
      },
      servers: spec.servers.map((s) => s.fqdn),
    })
  );
  return file;
}
