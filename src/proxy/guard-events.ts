import { guardAlert } from '../alert/index.js';
import type { GuardEvent } from '../guards/types.js';
import type { ProxyDeps } from './deps.js';

/**
 * Records anomaly, breaker and loop events and alerts their rules' channels. An anomaly and a
 * breaker opening in the same settle arrive in that order, so the alert comes first.
 */
export function publishGuardEvents(
  deps: ProxyDeps,
  events: readonly GuardEvent[],
  actor: string | null = null,
): void {
  for (const e of events) {
    deps.events.record(e.type, e.message, { scope: { ...e.scope }, data: { ...e.figures }, actor });
    if (e.channels.length > 0) deps.alerts.notify(guardAlert(e));
  }
}
