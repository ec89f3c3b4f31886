/** Worker for the main task queue: the workflows and every step that runs on Exchange or the worker. */
import { createMainWorker } from './create-workers';
import { main } from './run-worker';

main('onboarding', createMainWorker);
