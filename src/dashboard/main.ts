import './style.css';
import type { ClientEvent, ConnectionStatus, EventsClient } from '../client/client.js';
import type { DashboardQuery, EventsSubscriptionVariables } from '../client/generated/graphql.js';
import { DashboardDocument, RestartRunnerDocument, RunnerChartDocument, StartRunnerDocument, StopRunnerDocument } from '../client/operations.js';
import { connect, isTokenRefused, storedToken, storeToken } from './connection.js';
import { EventLog } from './event-log.js';
import { logVariables, THROTTLE_MS } from './filters.js';
import { CHART_BARS, CHART_INTERVAL_MS, DashboardModel, type RunnerView } from './model.js';
import { EquityCurve } from './equity-curve.js';
import { PriceChart } from './price-chart.js';
import { RunnersTable } from './runners-table.js';

/** How long a message about one action (a refused stop, say) stays. */
const ACTION_NOTICE_MS = 10_000;
/** Wait before starting again after the server ended a stream or refused an operation. */
const RESTART_MS = 3000;

function element<T extends Element>(selector: string, type: abstract new () => T): T {
  const found = document.querySelector(selector);
  if (!(found instanceof type)) throw new Error(`the page has no ${selector}`);
  return found;
}

/** Words for what a request or a stream failed with: an Error, or a WebSocket close. */
function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  const close = err as { code?: unknown; reason?: unknown } | null;
  if (typeof close?.code === 'number') {
    const reason = typeof close.reason === 'string' && close.reason !== '' ? `: ${close.reason}` : '';
    return close.code === 1006 ? 'the server cannot be reached' : `the connection closed (${close.code}${reason})`;
  }
  return String(err);
}

/**
 * The page: one graphql-ws connection; the overview stream (every runner, throttled)
 * drives the table and the charts, starting with a snapshot of every runner's state so
 * the first frame needs no live event; the log stream follows the filter form. Both
 * resume after a lost connection without a gap; a stream the server ends starts again.
 */
class Dashboard {
  private readonly model = new DashboardModel();
  private readonly table: RunnersTable;
  private readonly chart: PriceChart;
  private readonly equity: EquityCurve;
  private readonly log: EventLog;
  private readonly status = element('#status', HTMLElement);
  private readonly notice = element('#notice', HTMLElement);
  private readonly tokenForm = element('#token-form', HTMLFormElement);
  private readonly newRunner = element('#new-runner', HTMLFormElement);
  private readonly hint = element('#warm-up', HTMLElement);
  private client: EventsClient | null = null;
  private streams: { overview: AbortController | null; log: AbortController | null } = { overview: null, log: null };
  private me: DashboardQuery['me'] | null = null;
  private selected: string | null = null;
  /** The user picked the runner charted; else the page did, and the runner list's first wins. */
  private picked = false;
  private dirtyRows = new Set<string>();
  /** A runner got its first row: the table is built again at the next frame. */
  private newRows = false;
  private frame: number | null = null;
  private reload: { running: boolean; again: boolean } = { running: false, again: false };
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private noticeTimer: ReturnType<typeof setTimeout> | null = null;
  /** Runners whose chart history was asked for on this connection. */
  private seeded = new Set<string>();

  constructor() {
    this.table = new RunnersTable(element('#runners table', HTMLTableElement), this.model, {
      select: (id) => {
        this.picked = true;
        this.select(id);
      },
      stop: (runner) => void this.stop(runner),
      start: (runner) => void this.restart(runner),
    });
    this.chart = new PriceChart(element('#chart', HTMLElement), element('#chart-caption', HTMLElement), this.model);
    this.equity = new EquityCurve(this.chart.api, element('#equity-caption', HTMLElement), this.model);
    this.log = new EventLog(element('#log-filter', HTMLFormElement), element('#log', HTMLOListElement), () => this.followLog());
    this.tokenForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const token = new FormData(this.tokenForm).get('token');
      if (typeof token === 'string' && token !== '') storeToken(token);
      void this.connect();
    });
    element('#forget-token', HTMLButtonElement).addEventListener('click', () => {
      storeToken(null);
      void this.connect();
    });
    this.newRunner.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.startNew();
    });
  }

  /**
   * (Re)connects: the overview subscribes with a snapshot, which draws every runner's
   * state, and the runner query (who may do what) runs beside it, not before it.
   */
  async connect(): Promise<void> {
    this.teardown();
    const token = storedToken();
    element('#forget-token', HTMLButtonElement).hidden = token === undefined;
    // A closed client still reports its last close: only the current one may set the light.
    const client: EventsClient = connect(token, (status) => {
      if (this.client === client) this.showStatus(status);
    });
    this.client = client;
    this.model.resubscribe();
    // The client drops snapshot for an `after` when it resumes: a resume needs none.
    this.streams.overview = this.follow({ throttleMs: THROTTLE_MS, snapshot: true }, (event) => this.onOverview(event));
    this.followLog();
    try {
      await this.loadRunners();
    } catch (err) {
      if (client === this.client) this.failed(err);
      return;
    }
    if (client !== this.client) return;
    this.tokenForm.hidden = true;
    this.hideNotice();
  }

  private teardown(): void {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.streams.overview?.abort();
    this.streams.log?.abort();
    this.streams = { overview: null, log: null };
    void this.client?.close();
    this.client = null;
    this.seeded.clear();
  }

  private async loadRunners(): Promise<void> {
    const client = this.client;
    if (client === null) return;
    const data = await client.request(DashboardDocument);
    if (client !== this.client) return;
    this.me = data.me;
    this.model.load(data.runners);
    element('#who', HTMLElement).textContent = `${data.me.name} (${data.me.role.toLowerCase()})`;
    this.newRunner.hidden = data.me.role !== 'OPERATOR';
    this.table.rebuild();
    this.log.setRunners(data.runners.map((r) => r.id));
    // The snapshot lists runners in the order of their latest events: before the list
    // came, the page charted whichever came first; the list's first is the one to show.
    const keep = this.picked && this.selected !== null && this.model.runner(this.selected) !== undefined;
    this.select(keep ? this.selected : (data.runners[0]?.id ?? null));
  }

  /** Loads the runner list again, once at a time however many events ask for it. */
  private async reloadRunners(): Promise<void> {
    if (this.reload.running) {
      this.reload.again = true;
      return;
    }
    this.reload.running = true;
    try {
      do {
        this.reload.again = false;
        await this.loadRunners();
      } while (this.reload.again);
    } catch (err) {
      this.showNotice(`could not load the runners: ${messageOf(err)}`, ACTION_NOTICE_MS);
    } finally {
      this.reload.running = false;
    }
  }

  /** Subscribes to events; the returned controller ends it. */
  private follow(variables: EventsSubscriptionVariables, onEvent: (event: ClientEvent) => void): AbortController {
    const control = new AbortController();
    const client = this.client;
    if (client === null) return control;
    void (async () => {
      try {
        for await (const event of client.events(variables, control.signal)) onEvent(event);
        if (!control.signal.aborted) this.failed(new Error('the server ended the stream'));
      } catch (err) {
        if (!control.signal.aborted) this.failed(err);
      }
    })();
    return control;
  }

  /** The log's filter changed (or the page connected): subscribe anew with it. */
  private followLog(): void {
    this.streams.log?.abort();
    this.log.clear();
    this.streams.log = this.follow(logVariables(this.log.filter()), (event) => this.log.add(event));
  }

  private onOverview(event: ClientEvent): void {
    const change = this.model.apply(event);
    if (change.reload) void this.reloadRunners();
    if (change.runnerId === null) return;
    if (change.bar !== null) this.chart.onBar(change.runnerId, change.bar);
    if (change.mark) this.chart.onMark(change.runnerId);
    if (change.equity !== null) this.equity.onPoint(change.runnerId, change.equity);
    if (change.added) this.newRows = true;
    if (change.row) this.dirtyRows.add(change.runnerId);
    if (!change.added && !change.row) return;
    this.frame ??= requestAnimationFrame(() => {
      this.frame = null;
      this.showHint();
      if (this.newRows) {
        this.newRows = false;
        this.table.rebuild();
        // Before the query answers, the first runner of the snapshot gets the chart.
        if (this.selected === null) this.select(this.model.runners()[0]?.id ?? null);
      } else {
        for (const id of this.dirtyRows) this.table.update(id);
      }
      this.dirtyRows.clear();
    });
  }

  private select(id: string | null): void {
    this.selected = id;
    this.table.select(id);
    if (id === null) this.showHint();
    element('#chart-title', HTMLElement).textContent = id === null ? '' : `${id} ${this.model.runner(id)?.symbol ?? ''}`;
    if (id === null) return;
    if (this.chart.shown !== id) {
      this.chart.show(id);
      this.equity.show(id);
    }
    if (!this.seeded.has(id)) void this.loadChart(id);
    this.showHint();
  }

  /** Says why the runner shown does not trade yet while its strategy warms up; nothing once it may. */
  private showHint(): void {
    const hint = this.selected === null ? null : this.model.warmUpHint(this.selected, Date.now());
    this.hint.hidden = hint === null;
    this.hint.textContent = hint ?? '';
  }

  /** Draws what the server still holds of a runner's chart behind what the page saw live. */
  private async loadChart(id: string): Promise<void> {
    const client = this.client;
    if (client === null) return;
    this.seeded.add(id);
    try {
      // Stats may come four times a second: enough of them for a curve as long as the candles.
      const chart = await client.request(RunnerChartDocument, { id, intervalMs: CHART_INTERVAL_MS, last: CHART_BARS, statsLast: 4 * CHART_BARS });
      if (client !== this.client) return;
      this.model.backfill(id, chart);
      if (this.chart.shown === id) {
        this.chart.show(id);
        this.equity.show(id);
      }
    } catch (err) {
      this.seeded.delete(id);
      if (client !== this.client) return;
      this.showNotice(`could not load the chart of ${id}: ${messageOf(err)}; trying again in ${RESTART_MS / 1000} s`, ACTION_NOTICE_MS);
      // The streams resume by themselves after a lost connection, but nothing else asks for
      // this history again: without another try the chart would start at the page's load.
      setTimeout(() => {
        if (client === this.client && this.selected === id && !this.seeded.has(id)) void this.loadChart(id);
      }, RESTART_MS);
    }
  }

  private async stop(runner: RunnerView): Promise<void> {
    try {
      await this.client?.request(StopRunnerDocument, { id: runner.id, reason: `stopped from the dashboard by ${this.me?.name ?? 'someone'}` });
    } catch (err) {
      this.showNotice(`could not stop ${runner.id}: ${messageOf(err)}`, ACTION_NOTICE_MS);
    }
  }

  private async restart(runner: RunnerView): Promise<void> {
    try {
      await this.client?.request(RestartRunnerDocument, { id: runner.id });
    } catch (err) {
      this.showNotice(`could not start ${runner.id}: ${messageOf(err)}`, ACTION_NOTICE_MS);
    }
  }

  private async startNew(): Promise<void> {
    const form = new FormData(this.newRunner);
    const field = (name: string): string => String(form.get(name) ?? '').trim();
    try {
      await this.client?.request(StartRunnerDocument, { input: { id: field('id'), symbol: field('symbol'), strategy: field('strategy') } });
      this.newRunner.reset();
    } catch (err) {
      this.showNotice(`could not start ${field('id')}: ${messageOf(err)}`, ACTION_NOTICE_MS);
    }
  }

  /** A request or a stream failed for good: ask for a token, or start again shortly. */
  private failed(err: unknown): void {
    if (isTokenRefused(err)) {
      this.teardown();
      this.tokenForm.hidden = false;
      // Without a token this is a first visit (or a forgotten token): the form asks, nothing failed.
      if (storedToken() === undefined) this.hideNotice();
      else this.showNotice('the server refused this token');
      return;
    }
    this.showNotice(`${messageOf(err)}; starting again in ${RESTART_MS / 1000} s`);
    if (this.restartTimer === null) {
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        void this.connect();
      }, RESTART_MS);
    }
  }

  private showStatus(status: ConnectionStatus): void {
    const tokenNeeded = status.state === 'closed' && status.code === 4403 && storedToken() === undefined;
    this.status.dataset['state'] = tokenNeeded ? 'waiting' : status.state;
    this.status.textContent = tokenNeeded
      ? 'token needed'
      : status.state === 'connected'
        ? 'live'
        : status.state === 'connecting'
          ? 'connecting…'
          : status.code === 4403
            ? 'token refused'
            : `disconnected (${status.code}), reconnecting…`;
  }

  /** Shows a message; one about a single action fades after a while, one about the connection stays. */
  private showNotice(message: string, fadeMs?: number): void {
    if (this.noticeTimer !== null) clearTimeout(this.noticeTimer);
    this.noticeTimer = fadeMs === undefined ? null : setTimeout(() => this.hideNotice(), fadeMs);
    this.notice.textContent = message;
    this.notice.hidden = false;
  }

  private hideNotice(): void {
    if (this.noticeTimer !== null) clearTimeout(this.noticeTimer);
    this.noticeTimer = null;
    this.notice.hidden = true;
  }
}

/** The server says in a `<meta>` whether it serves GraphiQL (GRAPHIQL=false: no link to a page that is not there). */
function showGraphiqlLink(): void {
  const fact = document.querySelector('meta[name="tickwire-graphiql"]')?.getAttribute('content');
  element('#graphiql-link', HTMLAnchorElement).hidden = fact === 'off';
}

showGraphiqlLink();
void new Dashboard().connect();
