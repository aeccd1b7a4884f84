import { loadConfigFile } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { createLogger } from '../../log/logger.js';
import { createGateway } from '../../server.js';
import { describeFailure } from '../failure.js';
import { boundHeapGrowth } from '../../runtime/heap-growth.js';
import { watchConfig } from './reload.js';

/** `spendgate serve`: runs until SIGTERM or SIGINT, then drains, flushes the ledger and exits 0. */
export async function runServe(
  file: string,
  opts: { port?: number; out: (line: string) => void; err?: (line: string) => void },
): Promise<number> {
  const err = opts.err ?? opts.out;
  const logger = createLogger();
  let config;
  try {
    config = loadConfigFile(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.error(
      { event: 'config.invalid', file, problems: error.problems },
      'the config file is invalid; not starting',
    );
    for (const line of describeFailure(error)) err(line);
    return 1;
  }
  for (const w of config.warnings)
    logger.warn({ event: 'config.warning', path: w.path }, w.message);

  // Before the rank tables and the first requests fill the heap.
  boundHeapGrowth();
  const gateway = createGateway(config, { logger });
  let address;
  try {
    address = await gateway.listen(opts.port ?? config.listen.port);
  } catch (error) {
    // A ledger that cannot be used (a database that does not exist, a wrong password) or a
    // port in use: said once in the log, and the spool folder's lock is given back on the way.
    logger.error(
      { event: 'gateway.start_failed', err: (error as Error).message },
      `not starting: ${(error as Error).message}`,
    );
    await gateway.close(0).catch(() => undefined);
    return 1;
  }
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
