/** Alert channels and their delivery: what the rest of the gateway imports from `alert/`. */
export {
  ALERT_KINDS,
  ALERT_SCHEMA,
  FIGURE_KEYS,
  alertPayload,
  dedupeKeyFor,
  type Alert,
  type AlertFigures,
  type AlertKind,
  type AlertPayload,
  type AlertSeverity,
} from './alert.js';
export {
  backoffDelayMs,
  createAlertDispatcher,
  type AlertDispatcher,
  type AlertDispatcherOptions,
} from './dispatcher.js';
export { createEmailTransport, emailContent } from './email.js';
export { alertSentences, dashboardLink, describeScope, formatUsd, kindLabel } from './format.js';
export {
  alertingSchema,
  channelSchema,
  channelsSchema,
  resolveChannels,
  type AlertingConfig,
  type ChannelConfig,
  type ChannelsConfig,
  type ResolvedChannel,
} from './schema.js';
export { createSlackTransport, slackMessage } from './slack.js';
export {
  AlertDeliveryError,
  DEFAULT_SEND_TIMEOUT_MS,
  type AlertTransport,
  type DeliverableAlert,
} from './transport.js';
export {
  ALERT_ID_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  createWebhookTransport,
  signWebhook,
} from './webhook.js';
export { budgetThresholdAlert, guardAlert, killSwitchAlert } from './from-events.js';
