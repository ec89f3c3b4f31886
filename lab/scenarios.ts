/**
 * Ready-made estates: the example fleet (a mix of the situations a real fleet has) and a large,
 * uniform fleet for the benchmark.
 */
import type { FleetSpec } from '../domain/fleet';
import { LabEstate, type LabCreateOptions } from './estate';
import type { LabSettings } from './model';
import type { ProfileName } from './profiles';

/** Deterministic mix: most servers are plain, a few show the pitfalls the onboarding must handle. */
export const EXAMPLE_PROFILE_CYCLE: readonly ProfileName[] = [
  'fresh',
  'fresh',
  'german',
  'winrm-stopped',
  'expiring-cert',
];

function settingsFrom(spec: FleetSpec, overrides: Partial<LabSettings> = {}): Partial<LabSettings> {
  const domain = spec.domain ?? 'corp.example';
  return {
    domain,
    domainController: spec.domainController ?? `dc01.${domain}`,
    serviceAccount: spec.serviceAccount,
    monosyncServers: [...spec.monosyncServers],
    ...overrides,
  };
}

export function profileForServer(fqdn: string, index: number): ProfileName {
  if (fqdn.split('.')[0].toLowerCase().startsWith('edge')) return 'edge';
  return EXAMPLE_PROFILE_CYCLE[index % EXAMPLE_PROFILE_CYCLE.length];
}

export function exampleEstate(spec: FleetSpec, options: LabCreateOptions = {}): LabEstate {
  const estate = LabEstate.create({ ...options, settings: settingsFrom(spec, options.settings) });
  spec.servers.forEach((server, index) => estate.assign(server.fqdn, profileForServer(server.fqdn, index)));
  return estate;
}

/** Every server fresh; hosts are built only when a run first touches them. */
export function largeFleetEstate(spec: FleetSpec, options: LabCreateOptions = {}): LabEstate {
  const estate = LabEstate.create({
    ...options,
    settings: settingsFrom(spec, { ...options.settings, defaultProfile: 'fresh' }),
  });
  for (const server of spec.servers) estate.assign(server.fqdn, 'fresh');
  return estate;
}
