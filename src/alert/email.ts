/**
 * Email over SMTP with nodemailer: a subject naming the kind and scope, a plain-text body and
 * the same sentences as HTML, with the dashboard link.
 */
import { createTransport } from 'nodemailer';
import type { Alert } from './alert.js';
import { alertSentences, dashboardLink, describeScope, kindLabel } from './format.js';
import type { AlertTransport, DeliverableAlert } from './transport.js';
import { AlertDeliveryError, DEFAULT_SEND_TIMEOUT_MS, errorCode } from './transport.js';

/** The subject, plain-text and HTML bodies of the email for one alert. */
export function emailContent(
  alert: Alert,
  dashboardUrl: string | undefined,
): { subject: string; text: string; html: string } {
  const link = dashboardLink(dashboardUrl, alert.scope);
  const sentences = alertSentences(alert);
  const marker = alert.severity === 'info' ? '' : ` [${alert.severity}]`;
  const subject = `Spendgate${marker}: ${kindLabel(alert.kind)} for ${describeScope(alert.scope)}`;

  const text = [alert.title, '', ...sentences];
  if (link !== null) text.push('', `Dashboard: ${link}`);

  const html = [`<h2>${escapeHtml(alert.title)}</h2>`];
  for (const sentence of sentences) html.push(`<p>${escapeHtml(sentence)}</p>`);
  if (link !== null) {
    html.push(`<p><a href="${escapeHtml(link)}">Open the dashboard for this scope</a></p>`);
  }

  return { subject, text: `${text.join('\n')}\n`, html: html.join('\n') };
}

/** A transport sending each alert as one email through the SMTP server in `smtpUrl`. */
export function createEmailTransport(opts: {
  smtpUrl: string;
  from: string;
  to: string[];
  dashboardUrl?: string | undefined;
  timeoutMs?: number;
}): AlertTransport {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const mailer = createTransport({
    url: opts.smtpUrl,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });

  return {
    send: async (alert: DeliverableAlert) => {
      const content = emailContent(alert, opts.dashboardUrl);
      try {
        await mailer.sendMail({
          from: opts.from,
          to: opts.to,
          ...content,
          headers: { 'x-spendgate-alert-id': alert.id },
        });
      } catch (err) {
        // nodemailer's messages can quote the server's reply; the code and SMTP status are enough.
        const status = (err as { responseCode?: unknown }).responseCode;
        const suffix = typeof status === 'number' ? ` (SMTP ${status})` : '';
        throw new AlertDeliveryError(`smtp send failed: ${errorCode(err)}${suffix}`);
      }
    },
    close: () => mailer.close(),
  };
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
