/**
 * Slack incoming webhooks: a message for someone woken at 3 a.m. `text` is what the
 * notification shows; the blocks repeat it with the dashboard link as a button-free mrkdwn link.
 */
import type { DeliverableAlert, AlertTransport } from './transport.js';
import { DEFAULT_SEND_TIMEOUT_MS, postBody } from './transport.js';
import { alertSentences, dashboardLink, kindLabel } from './format.js';
import type { Alert } from './alert.js';

const SEVERITY_MARK = {
  info: ':information_source:',
  warning: ':warning:',
  critical: ':rotating_light:',
};
const JSON_HEADERS = { 'content-type': 'application/json' };

/** The Slack message body (`text` plus Block Kit) for one alert. */
export function slackMessage(
  alert: Alert,
  dashboardUrl: string | undefined,
): { text: string; blocks: unknown[] } {
  const link = dashboardLink(dashboardUrl, alert.scope);
  const heading = `${SEVERITY_MARK[alert.severity]} *${escapeMrkdwn(alert.title)}*`;
  const sentences = alertSentences(alert).map(escapeMrkdwn);

  // Slack also reads `text` as mrkdwn; the link is left raw since URL encoding already covers it.
  const plain = [escapeMrkdwn(`${kindLabel(alert.kind)}: ${alert.title}`), ...sentences];
  if (link !== null) plain.push(`Dashboard: ${link}`);

  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: [heading, ...sentences].join('\n') } },
  ];
  if (link !== null) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `<${link}|Open the dashboard for this scope>` }],
    });
  }

  return { text: plain.join('\n'), blocks };
}

/** A transport posting to one Slack incoming-webhook URL. */
export function createSlackTransport(opts: {
  webhookUrl: string;
  dashboardUrl?: string | undefined;
  timeoutMs?: number;
}): AlertTransport {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  return {
    send: (alert: DeliverableAlert) =>
      postBody(
        opts.webhookUrl,
        JSON.stringify(slackMessage(alert, opts.dashboardUrl)),
        JSON_HEADERS,
        timeoutMs,
      ),
  };
}

// Slack mrkdwn treats these three as control characters; a scope value must not open a link.
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
