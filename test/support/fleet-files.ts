/** Fleet files and lab estates for tests that drive the CLI the way an operator would. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { FleetSpec } from '../../domain/fleet';
import { LabEstate } from '../../lab/estate';
import type { ProfileName } from '../../lab/profiles';

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

/**
 * A lab estate that matches the fleet. Profiles, by FQDN or one per server in order, set how far a
 * server already is; the rest start fresh.
 */
export function estateFor(spec: FleetSpec, profiles: Record<string, ProfileName> | ProfileName[] = {}): LabEstate {
  const estate = LabEstate.create({
    // A fixed seed: probabilistic faults fail the same calls on every run.
    seed: 7,
    settings: { domain: 'corp.example', serviceAccount: spec.serviceAccount, monosyncServers: spec.monosyncServers },
  });
  const byFqdn = Array.isArray(profiles)
    ? Object.fromEntries(profiles.map((profile, i) => [spec.servers[i].fqdn, profile]))
    : profiles;
  for (const [fqdn, profile] of Object.entries(byFqdn)) estate.assign(fqdn, profile);
  return estate;
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
      approvers: spec.approvers.map((name) =>
        spec.approverKeys[name] ? { name, key: spec.approverKeys[name] } : name
      ),
      ...(spec.requesterKeys && Object.keys(spec.requesterKeys).length > 0
        ? { requesters: Object.entries(spec.requesterKeys).map(([name, key]) => ({ name, key })) }
        : {}),
      approvals: spec.approvals,
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
