import { watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadConfigFile } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { Gateway } from '../../server.js';

/** File-change events come in bursts (editors write, rename, chmod): wait for them to settle. */
const SETTLE_MS = 300;

/**
 * Reloads the config on SIGHUP and when the file changes. A file with mistakes is refused with
 * every problem logged, and the running config keeps serving; so is a change that needs a
 * restart. Returns a function that stops watching.
 */
export function watchConfig(file: string, gateway: Gateway, logger: Logger): () => void {
  let timer: NodeJS.Timeout | null = null;
  let running = Promise.resolve();

  const reload = (trigger: string): void => {
    running = running.then(async () => {
      let next;
      try {
        next = loadConfigFile(file);
      } catch (err) {
        const problems =
          err instanceof ConfigError
            ? err.problems
            : [{ path: '(file)', message: (err as Error).message }];
        logger.error(
          { event: 'config.reload_failed', file, trigger, problems },
          'the new config is invalid; the running one keeps serving',
        );
        return;
      }
      if (next.version === gateway.deps.config.version) {
        // Said, so a SIGHUP is seen to have been heard.
        logger.info(
          { event: 'config.unchanged', file, trigger, config_version: next.version },
          'config file unchanged; nothing to reload',
        );
        return;
      }
      const result = await gateway.reload(next);
      if (!result.ok) {
        logger.error(
          { event: 'config.reload_refused', file, trigger, reason: result.problem },
          `config not reloaded: ${result.problem}`,
        );
        return;
      }
      for (const w of next.warnings)
        logger.warn({ event: 'config.warning', path: w.path }, w.message);
      logger.info(
        { event: 'config.reloaded', file, trigger, config_version: next.version },
        'config reloaded',
      );
    });
  };

  const onHup = (): void => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  let watcher: ReturnType<typeof watch> | null = null;
  try {
    // The folder is watched, not the file: editors that save by renaming a new file over the
    // old one would leave a file watch on the old inode.
    watcher = watch(dirname(resolve(file)), (_event, name) => {
      if (name !== basename(file)) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => reload('file_change'), SETTLE_MS);
    });
  } catch (err) {
    logger.warn(
      { event: 'config.watch_failed', file, err: (err as Error).message },
      'cannot watch the config file; SIGHUP still reloads it',
    );
  }

  return () => {
    process.off('SIGHUP', onHup);
    watcher?.close();
    if (timer) clearTimeout(timer);
  };
}
