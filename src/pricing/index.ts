/** Pricing: price tables, model-name resolution and exact cost computation. */
export {
  CATALOGUE,
  CATALOGUE_LABEL,
  Catalogue,
  bundledCatalogue,
  ratesAt,
  ratesFromCatalogue,
  variantIndexAt,
  type CatalogueEntry,
  type LookupKind,
  type PriceWindow,
} from './catalogue.js';
export { computeCost, costBreakdown, type CostPart, type TokenClass } from './cost.js';
export {
  createPricer,
  type PriceFlag,
  type PriceMatch,
  type PriceSource,
  type Pricer,
  type PricerOptions,
  type Resolution,
} from './pricer.js';
export {
  RATE_KEYS,
  modelRates,
  rateSet,
  ratesForInput,
  type ModelRates,
  type PartialRates,
  type RateSet,
  type RateTier,
} from './rates.js';
export { familyAlias, parseFineTune, stripProviderPrefix, type FineTune } from './resolve.js';
export {
  DEFAULT_MAX_OUTPUT_TOKENS,
  modelPriceSchema,
  pricingSchema,
  type FallbackRatesConfig,
  type ModelPriceConfig,
  type PricingConfig,
  type PricingInput,
} from './schema.js';
