/**
 * FOCUS 1.2 columns of the Cost and Usage dataset that Spendgate writes. The 21 columns FOCUS
 * 1.2 marks Mandatory come first, in the specification's alphabetical order; then the
 * Conditional and Recommended ones whose condition applies to an LLM gateway; then our own
 * `x_` columns, since FOCUS asks for custom columns after its own and not intermixed.
 *
 * Source: the FOCUS 1.2 requirements model (CostAndUsage presence rules, focus.finops.org).
 *
 * | Column              | Level     | Spec wording (presence)                                   |
 * |---------------------|-----------|-----------------------------------------------------------|
 * | BilledCost          | Mandatory | MUST be present in a FOCUS dataset                        |
 * | BillingAccountId    | Mandatory | MUST be present in a FOCUS dataset                        |
 * | BillingAccountName  | Mandatory | MUST be present in a FOCUS dataset                        |
 * | BillingCurrency     | Mandatory | MUST be present in a FOCUS dataset                        |
 * | BillingPeriodEnd    | Mandatory | MUST be present in a FOCUS dataset                        |
 * | BillingPeriodStart  | Mandatory | MUST be present in a FOCUS dataset                        |
 * | ChargeCategory      | Mandatory | MUST be present in a FOCUS dataset                        |
 * | ChargeClass         | Mandatory | MUST be present in a FOCUS dataset (null: not a correction)|
 * | ChargeDescription   | Mandatory | MUST be present in a FOCUS dataset                        |
 * | ChargePeriodEnd     | Mandatory | MUST be present in a FOCUS dataset                        |
 * | ChargePeriodStart   | Mandatory | MUST be present in a FOCUS dataset                        |
 * | ContractedCost      | Mandatory | MUST be present in a FOCUS dataset                        |
 * | EffectiveCost       | Mandatory | MUST be present in a FOCUS dataset                        |
 * | InvoiceIssuerName   | Mandatory | MUST be present in a FOCUS dataset                        |
 * | ListCost            | Mandatory | MUST be present in a FOCUS dataset                        |
 * | PricingQuantity     | Mandatory | MUST be present in a FOCUS dataset                        |
 * | PricingUnit         | Mandatory | MUST be present in a FOCUS dataset                        |
 * | ProviderName        | Mandatory | MUST be present in a FOCUS dataset                        |
 * | PublisherName       | Mandatory | MUST be present in a FOCUS dataset                        |
 * | ServiceCategory     | Mandatory | MUST be present in a FOCUS dataset                        |
 * | ServiceName         | Mandatory | MUST be present in a FOCUS dataset                        |
 * | ChargeFrequency     | Recommended | is RECOMMENDED to be present in a FOCUS dataset         |
 * | ConsumedQuantity    | Conditional | when the provider supports the measurement of usage     |
 * | ConsumedUnit        | Conditional | when the provider supports the measurement of usage     |
 * | ContractedUnitPrice | Conditional | when the provider supports negotiated pricing concepts  |
 * | ListUnitPrice       | Conditional | when the provider publishes unit prices exclusive of    |
 * |                     |             | discounts                                               |
 * | ServiceSubcategory  | Recommended | is RECOMMENDED to be present in a FOCUS dataset         |
 * | SubAccountId        | Conditional | when the provider supports a sub account construct      |
 * | SubAccountName      | Conditional | when the provider supports a sub account construct      |
 * | Tags                | Conditional | when the provider supports setting user or              |
 * |                     |             | provider-defined tags                                   |
 *
 * Left out, because their condition does not hold for per-token API usage: AvailabilityZone,
 * BillingAccountType, CapacityReservation*, CommitmentDiscount*, InvoiceId (Recommended, but no
 * invoice is known when the gateway writes), PricingCategory (one category only),
 * PricingCurrency* (billed and priced in USD), Region*, Resource* (no provisioned resources),
 * Sku* (no published SKU price list of our own) and SubAccountType.
 */
export const FOCUS_MANDATORY_COLUMNS = [
  'BilledCost',
  'BillingAccountId',
  'BillingAccountName',
  'BillingCurrency',
  'BillingPeriodEnd',
  'BillingPeriodStart',
  'ChargeCategory',
  'ChargeClass',
  'ChargeDescription',
  'ChargePeriodEnd',
  'ChargePeriodStart',
  'ContractedCost',
  'EffectiveCost',
  'InvoiceIssuerName',
  'ListCost',
  'PricingQuantity',
  'PricingUnit',
  'ProviderName',
  'PublisherName',
  'ServiceCategory',
  'ServiceName',
] as const;

/** The Conditional and Recommended FOCUS 1.2 columns that apply to LLM API usage. */
export const FOCUS_OPTIONAL_COLUMNS = [
  'ChargeFrequency',
  'ConsumedQuantity',
  'ConsumedUnit',
  'ContractedUnitPrice',
  'ListUnitPrice',
  'ServiceSubcategory',
  'SubAccountId',
  'SubAccountName',
  'Tags',
] as const;

/** Spendgate's own dimensions, after every FOCUS column. */
export const FOCUS_CUSTOM_COLUMNS = [
  'x_org',
  'x_team',
  'x_user',
  'x_endpoint',
  'x_model',
  'x_resolved_model',
  'x_token_class',
  'x_requests',
] as const;

/** Every column of the FOCUS export, in output order. */
export const FOCUS_COLUMNS = [
  ...FOCUS_MANDATORY_COLUMNS,
  ...FOCUS_OPTIONAL_COLUMNS,
  ...FOCUS_CUSTOM_COLUMNS,
] as const;

/** One column name of the FOCUS export. */
export type FocusColumn = (typeof FOCUS_COLUMNS)[number];

/** How a provider id appears in FOCUS: who sells, who made the model, who invoices, and what. */
export type ProviderNames = {
  provider: string;
  publisher: string;
  invoiceIssuer: string;
  service: string;
};

const same = (name: string, service = `${name} API`): ProviderNames => ({
  provider: name,
  publisher: name,
  invoiceIssuer: name,
  service,
});

/**
 * Display names per ledger provider id. Azure resells OpenAI's models: Microsoft provides and
 * invoices them, OpenAI publishes them. An unknown id is used as is for all four names.
 */
export const PROVIDER_NAMES: Readonly<Record<string, ProviderNames>> = {
  openai: same('OpenAI'),
  anthropic: same('Anthropic'),
  azure: {
    provider: 'Microsoft',
    publisher: 'OpenAI',
    invoiceIssuer: 'Microsoft',
    service: 'Azure OpenAI Service',
  },
  bedrock: same('Amazon Web Services', 'Amazon Bedrock'),
  mistral: same('Mistral AI'),
  groq: same('Groq'),
  deepseek: same('DeepSeek'),
  together: same('Together AI'),
  fireworks: same('Fireworks AI'),
  openrouter: same('OpenRouter'),
  'x-ai': same('xAI'),
  google: same('Google', 'Gemini API'),
};

/** The display names of a provider id, falling back to the id itself. */
export function providerNames(
  id: string,
  table: Readonly<Record<string, ProviderNames>> = PROVIDER_NAMES,
): ProviderNames {
  return table[id] ?? same(id);
}
