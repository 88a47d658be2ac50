import { formatTime } from '../client/describe.js';
import { formatMoney, type DashboardModel, type RunnerView } from './model.js';

/** What the table asks of the page. */
export interface RunnersTableActions {
  select(id: string): void;
  stop(runner: RunnerView): void;
  start(runner: RunnerView): void;
}

function cell(row: HTMLTableRowElement, name: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.className = name;
  row.append(td);
  return td;
}

/**
 * Every runner with its state, last price, position and P&L. Rows are built once per
 * runner and then only their texts change, so a busy stream costs no layout churn.
 */
export class RunnersTable {
  private readonly body: HTMLTableSectionElement;
  private readonly rows = new Map<string, HTMLTableRowElement>();
  private selected: string | null = null;

  constructor(
    table: HTMLTableElement,
    private readonly model: DashboardModel,
    private readonly actions: RunnersTableActions,
  ) {
    this.body = table.tBodies[0] ?? table.createTBody();
  }

  /** Builds the rows anew (after the runner list was loaded). */
  rebuild(): void {
    this.body.replaceChildren();
    this.rows.clear();
    for (const runner of this.model.runners()) {
      const tr = document.createElement('tr');
      tr.dataset['runnerId'] = runner.id;
      for (const name of ['runner', 'state', 'last-price', 'position', 'unrealized', 'realized', 'control']) cell(tr, name);
      tr.tabIndex = 0;
      tr.addEventListener('click', (event) => {
        if (!(event.target instanceof HTMLButtonElement)) this.actions.select(runner.id);
      });
      tr.addEventListener('keydown', (event) => {
        if (event.target === tr && (event.key === 'Enter' || event.key === ' ')) {
          event.preventDefault();
          this.actions.select(runner.id);
        }
      });
      this.body.append(tr);
      this.rows.set(runner.id, tr);
      this.update(runner.id);
    }
    this.markSelected();
  }

  /** Refreshes one runner's row. */
  update(id: string): void {
    const tr = this.rows.get(id);
    const runner = this.model.runner(id);
    if (tr === undefined || runner === undefined) return;
    const [name, state, last, position, unrealized, realized, control] = tr.cells;
    // Symbol and strategy may come after the row (a snapshot draws it before the query answers).
    const naming = `${runner.symbol}\u0000${runner.strategy ?? ''}`;
    if (name!.dataset['naming'] !== naming) {
      name!.dataset['naming'] = naming;
      name!.replaceChildren(
        Object.assign(document.createElement('strong'), { textContent: runner.id }),
        ` ${runner.symbol}`,
        Object.assign(document.createElement('small'), { textContent: runner.strategy ?? '' }),
      );
    }
    // While its strategy warms up a runner does not trade: the row says so, the hint says why.
    const warming = this.model.warmUpHint(id, Date.now());
    state!.textContent = runner.state ?? '–';
    // Shown by the style sheet under the state: the cell's text stays the state itself.
    state!.toggleAttribute('data-warming', warming !== null);
    state!.title = warming ?? '';
    if (runner.state === null) delete state!.dataset['state'];
    else state!.dataset['state'] = runner.state;
    last!.textContent = runner.lastPrice === null ? '–' : this.model.priceText(id, runner.lastPrice);
    last!.title = runner.lastPriceAt === null ? '' : `at ${formatTime(runner.lastPriceAt)}`;
    position!.textContent = runner.position === null ? 'flat' : `${runner.position.side} ${runner.position.quantity} @ ${this.model.priceText(id, runner.position.entryPrice)}`;
    // A snapshot may hold a position's last mark before the stats that describe it.
    setMoney(unrealized!, runner.position === null && runner.unrealizedPnl === 0 ? null : runner.unrealizedPnl);
    setMoney(realized!, runner.realizedPnl);
    this.renderControl(control!, runner);
  }

  /** Highlights the runner whose chart is shown. */
  select(id: string | null): void {
    this.selected = id;
    this.markSelected();
  }

  private markSelected(): void {
    for (const [id, tr] of this.rows) tr.classList.toggle('selected', id === this.selected);
  }

  private renderControl(td: HTMLTableCellElement, runner: RunnerView): void {
    const want = !runner.canManage ? null : runner.state === 'STOPPED' ? 'start' : 'stop';
    const current = td.firstElementChild as HTMLButtonElement | null;
    if ((current?.dataset['action'] ?? null) === want) return;
    td.replaceChildren();
    if (want === null) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset['action'] = want;
    button.textContent = want === 'start' ? 'Start' : 'Stop';
    button.addEventListener('click', () => {
      const now = this.model.runner(runner.id);
      if (now === undefined) return;
      if (want === 'start') this.actions.start(now);
      else this.actions.stop(now);
    });
    td.append(button);
  }
}

function setMoney(td: HTMLTableCellElement, value: number | null): void {
  td.textContent = value === null ? '–' : formatMoney(value);
  td.classList.toggle('profit', value !== null && value > 0);
  td.classList.toggle('loss', value !== null && value < 0);
}
