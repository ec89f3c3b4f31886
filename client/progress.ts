/**
 * Fleet progress on the terminal: a live bar on a TTY; in logs and pipes (CI, `tee`) one plain line
 * per change instead, since a redrawn bar there is noise or nothing at all.
 */
import { Presets, SingleBar } from 'cli-progress';

interface Progress {
  update(done: number, total: number, phases: string): void;
  stop(): void;
}

export function progress(stream: NodeJS.WriteStream = process.stdout): Progress {
  if (stream.isTTY) {
    const bar = new SingleBar(
      { format: 'onboarding [{bar}] {value}/{total} servers done | {phases}', hideCursor: true, stream },
      Presets.shades_classic
    );
    let started = false;
    return {
      update(done, total, phases) {
        if (!started) bar.start(total, done, { phases });
        started = true;
        bar.setTotal(total);
        bar.update(done, { phases });
      },
      stop: () => bar.stop(),
    };
  }
  let last = '';
  return {
    update(done, total, phases) {
      const line = `onboarding [${'#'.repeat(Math.round((20 * done) / Math.max(total, 1))).padEnd(20, '-')}] ${done}/${total} servers done | ${phases}`;
      if (line !== last) stream.write(`${line}\n`);
      last = line;
    },
    stop: () => undefined,
  };
}
