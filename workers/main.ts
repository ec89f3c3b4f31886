/**
 * Worker for the main task queue (the workflows and every step that runs on Exchange or the worker),
 * with the fleet worker beside it in the same process (fleet onboarding workflows, on the fleet queue).
 */
import { createOnboardingWorkers } from './create-workers';
import { main } from './run-worker';

main('onboarding', createOnboardingWorkers);
