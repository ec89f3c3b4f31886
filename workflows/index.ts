/** Every workflow the worker registers. Deterministic code only: no I/O, no Node built-ins. */
export { onboardFleet } from './onboard-fleet';
export { onboardServer } from './onboard-server';
