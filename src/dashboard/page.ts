/**
 * The dashboard's HTML: the login form and the empty panels the client fills in. It holds no
 * data and needs no token; every figure is fetched from /api/v1 with the token the user typed.
 */
export function renderDashboardPage(opts: {
  jsVersion: string;
  cssVersion: string;
  nowMs: number;
}) {
  // Only hex digests and an integer go into the page: nothing here needs HTML escaping.
  const js = `/dashboard/app.js?v=${opts.jsVersion}`;
  const css = `/dashboard/app.css?v=${opts.cssVersion}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="spendgate-now" content="${Math.trunc(opts.nowMs)}">
<title>Spendgate dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${css}">
<script type="module" src="${js}"></script>
</head>
<body>
<a class="skip" id="skip" href="#main">Skip to the figures</a>
<header class="top">
  <h1>Spendgate</h1>
  <p id="updated" class="muted" hidden>Not updated yet</p>
  <p id="status" class="status" role="status" hidden></p>
  <div class="top-actions" id="session-actions" hidden>
    <button type="button" id="refresh-now">Refresh now</button>
    <button type="button" id="sign-out">Sign out</button>
  </div>
</header>

<section id="login" class="login" aria-labelledby="login-title">
  <h2 id="login-title">Sign in</h2>
  <p>Enter an admin token. It is kept for this browser tab only (session storage) and sent to
  the gateway's admin API with each request.</p>
  <form id="login-form" novalidate>
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
    <button type="submit" id="sign-in">Sign in</button>
  </form>
  <p id="login-error" class="error" role="alert" hidden></p>
</section>

<main id="main" tabindex="-1" hidden>
  <section class="panel" aria-labelledby="totals-title">
    <h2 id="totals-title">Total spend</h2>
    <div class="cards">
      <div class="card"><p class="card-label">Last 7 days</p><p class="card-value" id="total-7d">–</p></div>
      <div class="card"><p class="card-label">Last 30 days</p><p class="card-value" id="total-30d">–</p></div>
    </div>
    <p class="muted" id="totals-note">Calendar days in UTC, today included; every tenant this token can see.</p>
  </section>

  <section class="panel" aria-labelledby="tenants-title">
    <h2 id="tenants-title">Spend by tenant</h2>
    <div class="toolbar">
      <label for="search">Find a tenant</label>
      <input id="search" type="search" placeholder="org name" autocomplete="off" spellcheck="false">
      <p id="tenants-count" class="muted" aria-live="polite"></p>
    </div>
    <table class="data" id="tenants">
      <thead><tr><th scope="col">Org</th><th scope="col" class="num">7 days</th><th scope="col" class="num">30 days</th><th scope="col" class="num">Requests (30 days)</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <section class="panel" aria-labelledby="trend-title">
    <h2 id="trend-title">Spend over time</h2>
    <div class="toolbar" role="group" aria-label="Bucket size for the charts">
      <button type="button" class="toggle" id="bucket-hour" aria-pressed="false">Hours (48 h)</button>
      <button type="button" class="toggle" id="bucket-day" aria-pressed="true">Days (30 days)</button>
    </div>
    <div class="chart" id="spend-chart" role="img" aria-label="Spend per tenant over time"></div>
    <p class="muted" id="spend-chart-note"></p>
  </section>

  <section class="panel" aria-labelledby="budgets-title">
    <h2 id="budgets-title">Budgets</h2>
    <p id="budgets-count" class="muted"></p>
    <ul class="budgets" id="budgets"></ul>
  </section>

  <section class="panel" aria-labelledby="rejects-title">
    <h2 id="rejects-title">Rejections</h2>
    <div class="chart" id="reject-chart" role="img" aria-label="Share of requests rejected over time"></div>
    <h3>Who was stopped</h3>
    <p class="muted" id="stopped-note"></p>
    <table class="data identities" id="stopped">
      <thead><tr><th scope="col">Org</th><th scope="col">Team</th><th scope="col">User</th><th scope="col">Reason</th><th scope="col" class="num">Requests</th><th scope="col">Last</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <section class="panel" aria-labelledby="top-title">
    <h2 id="top-title">Top spenders, last 7 days</h2>
    <h3>Endpoints</h3>
    <table class="data" id="endpoints">
      <thead><tr><th scope="col">Endpoint</th><th scope="col" class="num">Spend</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Avg prompt (tokens)</th></tr></thead>
      <tbody></tbody>
    </table>
    <h3>Models</h3>
    <table class="data" id="models">
      <thead><tr><th scope="col">Model</th><th scope="col" class="num">Spend</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Avg prompt (tokens)</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <section class="panel" aria-labelledby="events-title">
    <h2 id="events-title">Events</h2>
    <p class="muted">Loop detections, breaker changes, alerts, anomalies and kill switches, newest first.</p>
    <ol class="timeline" id="events"></ol>
  </section>
</main>
</body>
</html>
`;
}
