import { existsSync } from 'node:fs';
import { loadConfigFile } from '../../config/load.js';
import { computeCost, createPricer } from '../../pricing/index.js';
import { emptyUsage } from '../../providers/types.js';
import { formatPrice } from './price.js';

/**
 * The exit code when the model has no price: apart from 1 (the command failed) and 2 (a usage
 * mistake), so a script can tell "not priced" from "asked wrongly".
 */
export const EXIT_NO_PRICE = 3;

export type PriceArgs = {
  model: string;
  input: number;
  output: number;
  cached: number;
  cacheWrite: number;
  provider?: string;
};

/**
 * `spendgate price <model>`: the resolved entry and the cost of the given usage, with the
 * config's overrides when the config file exists. `--input` counts every prompt token,
 * including the `--cached` and `--cache-write` parts, as the ledger does (the caller checks
 * that they fit in it).
 */
export function runPrice(configFile: string, args: PriceArgs, out: (line: string) => void): number {
  const pricing = existsSync(configFile) ? loadConfigFile(configFile).raw.pricing : undefined;
  const pricer = createPricer(pricing);
  const resolution = pricer.resolve(args.model, args.provider);
  const usage = {
    ...emptyUsage(),
    inputTokens: args.input,
    cachedInputTokens: args.cached,
    cacheWriteTokens: args.cacheWrite,
    outputTokens: args.output,
  };
  const cost = resolution.rates ? computeCost(usage, resolution.rates) : null;
  out(formatPrice(resolution, usage, cost));
  return resolution.rates ? 0 : EXIT_NO_PRICE;
}
