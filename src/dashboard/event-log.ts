import type { ClientEvent } from '../client/client.js';
import { describeEvent, formatTime } from '../client/describe.js';
import { EVENT_TYPES, SEVERITIES, type LogFilter } from './filters.js';

/** Rows the log keeps; older ones go, so a page left open stays fast. */
const MAX_ROWS = 300;

function option(value: string, label: string): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  return o;
}

/**
 * The live event log and its filter form. Rows arrive in batches, once per animation
 * frame, newest on top; errors and critical events stand out by their tone.
 */
export class EventLog {
  private pending: ClientEvent[] = [];
  private frame: number | null = null;

  constructor(
    private readonly form: HTMLFormElement,
    private readonly list: HTMLOListElement,
    onFilter: (filter: LogFilter) => void,
  ) {
    const type = this.select('type');
    type.append(option('', 'any type'), ...EVENT_TYPES.map((t) => option(t, t)));
    const severity = this.select('minSeverity');
    severity.append(option('', 'any severity'), ...SEVERITIES.map((s) => option(s, `${s} and above`)));
    this.select('runner').append(option('', 'every runner'));
    form.addEventListener('change', () => onFilter(this.filter()));
    form.addEventListener('submit', (event) => event.preventDefault());
    // A narrow column cuts long details (an error, a stop reason): hovering shows one in
    // full (its title), and a click or Enter opens its row so that it wraps, to read or copy.
    const toggle = (target: EventTarget | null): void => {
      const li = target instanceof Element ? target.closest('li') : null;
      if (li !== null && list.contains(li) && window.getSelection()?.isCollapsed !== false) li.classList.toggle('open');
    };
    list.addEventListener('click', (event) => toggle(event.target));
    list.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return;
      event.preventDefault();
      toggle(event.target);
    });
  }

  /** The filter the form shows. */
  filter(): LogFilter {
    return { runner: this.select('runner').value, type: this.select('type').value, minSeverity: this.select('minSeverity').value };
  }

  /** Offers these runners in the runner filter, keeping the choice. */
  setRunners(ids: readonly string[]): void {
    const select = this.select('runner');
    const chosen = select.value;
    select.replaceChildren(option('', 'every runner'), ...ids.map((id) => option(id, id)));
    // A runner that went away stays selectable, so the filter does not change under the user.
    if (chosen !== '' && !ids.includes(chosen)) select.append(option(chosen, chosen));
    select.value = chosen;
  }

  /** Empties the log (a new filter: what is shown must match it). */
  clear(): void {
    this.pending = [];
    this.list.replaceChildren();
  }

  /** Shows an event. */
  add(event: ClientEvent): void {
    this.pending.push(event);
    // A hidden tab gets no animation frames: keep only what one flush would show.
    if (this.pending.length > 2 * MAX_ROWS) this.pending.splice(0, this.pending.length - MAX_ROWS);
    this.frame ??= requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    this.frame = null;
    const batch = this.pending.slice(-MAX_ROWS);
    this.pending = [];
    const fragment = document.createDocumentFragment();
    for (let i = batch.length - 1; i >= 0; i--) fragment.append(this.row(batch[i]!));
    this.list.prepend(fragment);
    while (this.list.childElementCount > MAX_ROWS) this.list.lastElementChild?.remove();
  }

  private row(event: ClientEvent): HTMLLIElement {
    const { label, text, tone } = describeEvent(event);
    const li = document.createElement('li');
    li.className = `tone-${tone}`;
    const cells: [string, string][] =
      event.__typename === 'StreamGap'
        ? [['id', ''], ['time', ''], ['runner', ''], ['label', label], ['text', text]]
        : [
            ['id', `#${event.id}`],
            ['time', formatTime(event.timestamp)],
            ['runner', event.runnerId],
            ['label', label],
            ['text', text],
          ];
    if (event.__typename !== 'StreamGap') li.dataset['runner'] = event.runnerId;
    li.dataset['type'] = event.__typename;
    li.tabIndex = 0;
    // The full text on hover: a narrow column cuts long reasons short.
    for (const [name, value] of cells) li.append(Object.assign(document.createElement('span'), { className: name, textContent: value, title: value }));
    return li;
  }

  private select(name: string): HTMLSelectElement {
    const element = this.form.elements.namedItem(name);
    if (!(element instanceof HTMLSelectElement)) throw new Error(`the log form has no <select name="${name}">`);
    return element;
  }
}
