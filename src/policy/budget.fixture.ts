import type { BudgetConfig } from './schema.js';

/** The budget most policy tests use: $100 a day per org, warn at 80%, throttle at 95%, reject at 100%. */
export const ORG_DAILY: BudgetConfig = {
  name: 'org-daily',
  scope: { org: '*' },
  limit_usd: 100,
  period: '1d',
  actions: [
    { at: 80, do: 'warn' },
    { at: 95, do: 'throttle', delay_ms: [200, 500] },
    { at: 100, do: 'reject' },
  ],
};
