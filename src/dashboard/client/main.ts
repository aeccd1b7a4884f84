/**
 * The dashboard in the browser: a login form that keeps the admin token for this tab
 * (sessionStorage), then panels that refresh every few seconds from the admin API.
 */
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import { AdminApi, TokenRefused } from './api.js';
import { byId } from './dom.js';
import { loadSnapshot, type Snapshot } from './load.js';
import { Panels } from './render.js';
import { formatClock, type BucketSize } from './time.js';

/** How often the panels refresh, at most. */
export const REFRESH_MS = 5_000;
/**
 * A refresh that took long (a very large ledger) is followed by a longer pause, so an open
 * dashboard never keeps the gateway's ledger busy more than a fifth of the time.
 */
const SLOW_FACTOR = 4;
const SEARCH_DELAY_MS = 300;
const TOKEN_KEY = 'spendgate.admin-token';
const NOTICE_KEY = 'spendgate.notice';
const REFUSED =
  'Token refused: the gateway did not accept this admin token. Check it and try again.';

/**
 * The gateway's clock minus this browser's, from the time the page was served: windows such as
 * "the last 7 days" are the gateway's days even when this computer's clock is off.
 */
const clockOffsetMs = (() => {
  const served = Number(
    document.querySelector('meta[name="spendgate-now"]')?.getAttribute('content'),
  );
  return Number.isFinite(served) && served > 0 ? served - Date.now() : 0;
})();

/** One signed-in session: the token, the view settings and the refresh timer. */
class Session {
  private panels: Panels | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private busy = false;
  private again = false;
  private lastLoadMs = 0;
  private bucket: BucketSize = 'day';
  private search = '';
  private readonly api: AdminApi;

  constructor(token: string) {
    this.api = new AdminApi(token);
  }

  /** The first load: resolves with the snapshot, or rejects with TokenRefused. */
  first(): Promise<Snapshot> {
    return this.load();
  }

  /** Shows the panels with the first snapshot and starts refreshing. */
  start(snapshot: Snapshot): void {
    byId('login').hidden = true;
    byId('main').hidden = false;
    byId('session-actions').hidden = false;
    byId('updated').hidden = false;
    this.panels = new Panels();
    this.show(snapshot);
    this.wireControls();
    this.schedule();
  }

  /** Refreshes now, or once more after the refresh already running. */
  async refresh(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    clearTimeout(this.timer);
    try {
      this.show(await this.load());
    } catch (err) {
      if (err instanceof TokenRefused) return signOut(REFUSED);
      // Keep the last figures on screen and say that they are getting old.
      setStatus(
        `Refresh failed (${(err as Error).message}); trying again in ${REFRESH_MS / 1000} s.`,
      );
    } finally {
      this.busy = false;
    }
    if (this.again) {
      this.again = false;
      return this.refresh();
    }
    this.schedule();
  }

  private async load(): Promise<Snapshot> {
    const started = performance.now();
    try {
      return await loadSnapshot(this.api, {
        nowMs: Date.now() + clockOffsetMs,
        bucket: this.bucket,
        search: this.search,
      });
    } finally {
      this.lastLoadMs = performance.now() - started;
    }
  }

  private show(snapshot: Snapshot): void {
    this.panels?.render(snapshot);
    setStatus(null);
    byId('updated').textContent = `Updated at ${formatClock(Date.now())}`;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    // A hidden tab does not poll; it refreshes as soon as it is shown again.
    if (document.hidden) return;
    const delayMs = Math.max(REFRESH_MS, SLOW_FACTOR * this.lastLoadMs);
    this.timer = setTimeout(() => void this.refresh(), delayMs);
  }

  private wireControls(): void {
    const search = byId<HTMLInputElement>('search');
    let pending: ReturnType<typeof setTimeout> | undefined;
    search.addEventListener('input', () => {
      clearTimeout(pending);
      pending = setTimeout(() => {
        this.search = search.value;
        void this.refresh();
      }, SEARCH_DELAY_MS);
    });
    for (const size of ['hour', 'day'] as const) {
      byId(`bucket-${size}`).addEventListener('click', () => {
        this.bucket = size;
        for (const other of ['hour', 'day'] as const) {
          byId(`bucket-${other}`).setAttribute('aria-pressed', String(other === size));
        }
        void this.refresh();
      });
    }
    byId('refresh-now').addEventListener('click', () => void this.refresh());
    byId('sign-out').addEventListener('click', () => signOut(null));
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) void this.refresh();
    });
  }
}

function setStatus(message: string | null): void {
  const status = byId('status');
  status.hidden = message === null;
  status.textContent = message ?? '';
}

function showLoginError(message: string | null): void {
  const error = byId('login-error');
  error.hidden = message === null;
  error.textContent = message ?? '';
}

/**
 * Forgets the token and reloads the page, so no figure of the old session stays in the DOM; a
 * notice for the login form survives the reload in session storage.
 */
function signOut(notice: string | null): void {
  sessionStorage.removeItem(TOKEN_KEY);
  if (notice) sessionStorage.setItem(NOTICE_KEY, notice);
  location.reload();
}

async function signIn(token: string, remember: boolean): Promise<void> {
  const button = byId<HTMLButtonElement>('sign-in');
  button.disabled = true;
  showLoginError(null);
  const session = new Session(token);
  try {
    const snapshot = await session.first();
    if (remember) sessionStorage.setItem(TOKEN_KEY, token);
    session.start(snapshot);
    byId('main').focus();
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLoginError(
      err instanceof TokenRefused
        ? REFUSED
        : `The gateway could not be read: ${(err as Error).message}`,
    );
    byId('token').focus();
  } finally {
    button.disabled = false;
  }
}

function boot(): void {
  const notice = sessionStorage.getItem(NOTICE_KEY);
  sessionStorage.removeItem(NOTICE_KEY);
  showLoginError(notice);

  byId<HTMLFormElement>('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>('token');
    const token = input.value.trim();
    if (token === '') return showLoginError('Enter an admin token.');
    input.value = '';
    void signIn(token, true);
  });

  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) void signIn(saved, true);
  else byId('token').focus();
}

boot();
