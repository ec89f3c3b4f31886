/** Every workflow the worker registers. Deterministic code only: no I/O, no Node built-ins. */
export { auditFleet } from './audit-fleet';
export { onboardFleet } from './onboard-fleet';
export { onboardServer } from './onboard-server';
export { planFleet, planServer } from './plan-fleet';
export { rotateCertificates } from './rotate-certificates';
