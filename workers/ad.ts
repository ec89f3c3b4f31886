/**
 * Worker for the AD task queue: the delegation step only. Its activity slots are the AD budget
 * (FLEET_AD_CONCURRENCY, default 8), so a fleet run cannot flood the domain controllers.
 */
import { createAdWorker } from './create-workers';
import { main } from './run-worker';

main('AD', createAdWorker);
