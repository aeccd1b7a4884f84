import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from './alert.js';
import { createAlertDispatcher } from './dispatcher.js';
import { createEmailTransport, emailContent } from './email.js';
import { captureLogger } from './receiver.fixture.js';
import { channelsSchema } from './schema.js';
import { systemClock } from '../clock.js';

const BREAKER: Alert & { id: string } = {
  id: 'alrt_9',
  kind: 'breaker_opened',
  severity: 'critical',
  title: 'Circuit breaker opened for org acme',
  summary: 'Requests for org acme are rejected until the breaker closes.',
  scope: { org: 'acme' },
  figures: { rate_usd_per_hour: 420, baseline_usd_per_hour: 12, window: '1m' },
  atMs: 0,
  channels: ['cfo'],
  dedupeKey: 'breaker_opened|org=acme',
};

type Mail = { from: string; to: string[]; raw: string; user: string | undefined };

// A real SMTP server on a free port, plain text only, keeping what it receives.
async function startSmtp(): Promise<{ port: number; mails: Mail[]; stop(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onAuth(auth, _session, callback) {
      if (auth.username === 'alerts' && auth.password === 'pw') {
        callback(null, { user: auth.username });
      } else {
        callback(new Error('bad login'));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const envelope = session.envelope;
        mails.push({
          from: envelope.mailFrom === false ? '' : envelope.mailFrom.address,
          to: envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: session.user as string | undefined,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

// Enough MIME reading for the test: unfold headers and undo quoted-printable.
function decode(raw: string): string {
  return raw
    .replace(/\r\n(?=[ \t])/g, '')
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('email channel: smtp delivery', () => {
  it('delivers one mail with a subject, a plain-text part and an html part', async () => {
    const smtp = await startSmtp();
    stops.push(smtp.stop);
    const transport = createEmailTransport({
      smtpUrl: `smtp://alerts:pw@127.0.0.1:${smtp.port}`,
      from: 'spend@example.com',
      to: ['cfo@example.com', 'oncall@example.com'],
      dashboardUrl: 'https://spend.example/dashboard',
    });

    await transport.send(BREAKER);
    transport.close?.();

    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0] as Mail;
    expect(mail.from).toBe('spend@example.com');
    expect(mail.to).toEqual(['cfo@example.com', 'oncall@example.com']);
    expect(mail.user).toBe('alerts');
    const text = decode(mail.raw);
    expect(text).toContain(
      'Subject: Spendgate [critical]: Circuit breaker opened for org acme\r\n',
    );
    expect(text).toContain('X-Spendgate-Alert-ID: alrt_9');
    expect(text).toMatch(/Content-Type: text\/plain; charset=utf-8/);
    expect(text).toMatch(/Content-Type: text\/html; charset=utf-8/);
    expect(text).toContain('Spending $420.00 per hour over the last 1m, 35 times its baseline');
    expect(text).toContain(
      '<a href="https://spend.example/dashboard?org=acme">Open the dashboard for this scope</a>',
    );
  });

  it('throws an error naming the smtp status, not the password', async () => {
    const smtp = await startSmtp();
    stops.push(smtp.stop);
    const transport = createEmailTransport({
      smtpUrl: `smtp://alerts:wrong-pw@127.0.0.1:${smtp.port}`,
      from: 'spend@example.com',
      to: ['cfo@example.com'],
    });

    const error = (await transport.send(BREAKER).catch((err: unknown) => err)) as Error;
    transport.close?.();

    expect(error.message).toBe('smtp send failed: EAUTH (SMTP 535)');
    expect(smtp.mails).toHaveLength(0);
  });
});

describe('email channel: through the dispatcher', () => {
  it('reads the smtp url from the env record and keeps its password out of the logs', async () => {
    const smtp = await startSmtp();
    stops.push(smtp.stop);
    const { logger, lines, raw } = captureLogger();
    const dispatcher = createAlertDispatcher({
      channels: channelsSchema.parse({
        cfo: {
          type: 'email',
          smtp_url_env: 'SMTP_URL',
          from: 'spend@example.com',
          to: ['cfo@example.com'],
        },
      }),
      env: { SMTP_URL: `smtp://alerts:pw@127.0.0.1:${smtp.port}` },
      clock: systemClock,
      logger,
    });

    dispatcher.notify({ ...BREAKER, channels: ['cfo'] });
    await dispatcher.flush();
    await dispatcher.close();

    expect(smtp.mails.map((m) => m.to)).toEqual([['cfo@example.com']]);
    expect(lines.filter((l) => l.event === 'alert.delivered')).toMatchObject([
      { alertId: 'alrt_9', channel: 'cfo', attempts: 1 },
    ]);
    expect(raw.join('')).not.toContain(':pw@');
  });
});

describe('email channel: content', () => {
  it('escapes scope values in the html part', () => {
    const content = emailContent(
      { ...BREAKER, scope: { team: '<b>x</b>' }, figures: {} },
      undefined,
    );

    expect(content.subject).toBe('Spendgate [critical]: Circuit breaker opened for team <b>x</b>');
    expect(content.html).toContain('<p>Scope: team &lt;b&gt;x&lt;/b&gt;.</p>');
  });
});
