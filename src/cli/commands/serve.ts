import { loadConfigFile } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { createLogger } from '../../log/logger.js';
import { createGateway } from '../../server.js';
import { watchConfig } from './reload.js';

/** `spendgate serve`: runs until SIGTERM or SIGINT, then drains, flushes the ledger and exits 0. */
export async function runServe(
  file: string,
  opts: { port?: number; out: (line: string) => void },
): Promise<number> {
  const logger = createLogger();
  let config;
  try {
    config = loadConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    logger.error(
      { event: 'config.invalid', file, problems: err.problems },
      'the config file is invalid; not starting',
    );
    opts.out(err.message);
    return 1;
  }
  for (const w of config.warnings)
    logger.warn({ event: 'config.warning', path: w.path }, w.message);

  const gateway = createGateway(config, { logger });
  const address = await gateway.listen(opts.port ?? config.listen.port);
  logger.info(
    {
      event: 'gateway.started',
      host: address.address,
      port: address.port,
      config_version: config.version,
      upstreams: [...config.upstreams.keys()],
    },
    `spendgate listening on http://${address.address}:${address.port}`,
  );

  const unwatch = watchConfig(file, gateway, logger);

  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      unwatch();
      logger.info(
        { event: 'gateway.stopping', signal },
        'stopping: draining requests and flushing the ledger',
      );
      gateway.close().then(
        () => {
          logger.info({ event: 'gateway.stopped' }, 'stopped');
          resolve(0);
        },
        (err: unknown) => {
          logger.error(
            { event: 'gateway.stop_failed', err: (err as Error).message },
            'stop failed',
          );
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
