// The seat map: an SVG drawn from GET /api/shows/{id}/seats and the
// screen's rows (aisles_after), the screen at the top. Each seat is a
// role="checkbox" with a label that says row, number, tier, price and
// state, and the state is drawn as a shape too (a tick for yours, a cross
// for taken), never by colour alone. One seat at a time is in the tab
// order (a roving tabindex); the arrow keys, Home and End move between
// seats, Space or Enter toggles the focused one.
import type { Schemas } from './session.js';

type Seat = Schemas['Seat'];
type Row = Schemas['Row'];
export type SeatState = 'available' | 'held' | 'booked';

const SVG = 'http://www.w3.org/2000/svg';
const SEAT = 28;
const GAP = 6;
const AISLE = 22;
const LABEL = 26;
const TOP = 54;
const MIN_SCALE = 24 / SEAT;

export interface SeatView {
  seat: Seat;
  status: SeatState;
  mine: boolean;
  selected: boolean;
  el: SVGGElement;
  row: number;
}

export function money(cents: number, currency: string): string {
  return new Intl.NumberFormat('en', { style: 'currency', currency })
    .format(cents / 100);
}

function el<K extends keyof SVGElementTagNameMap>(name: K,
    attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

export class SeatMap {
  readonly seats = new Map<number, SeatView>();
  private rows: SeatView[][] = [];
  private focusId = 0;
  onToggle: (v: SeatView) => void = () => {};

  constructor(private host: HTMLElement, private currency: string) {}

  draw(seats: Seat[], rows: Row[]): void {
    const byRow = new Map<string, Seat[]>();
    for (const s of seats) {
      if (!byRow.has(s.row)) byRow.set(s.row, []);
      byRow.get(s.row)!.push(s);
    }
    const aisles = new Map(rows.map((r) => [r.label, new Set(r.aisles_after)]));
    const order = rows.length > 0 ? rows.map((r) => r.label) : [...byRow.keys()];
    this.seats.clear();
    this.rows = [];
    let width = 0;
    const groups: SVGGElement[] = [];
    order.forEach((label) => {
      const list = (byRow.get(label) ?? []).sort((a, b) => a.number - b.number);
      if (list.length === 0) return;
      const y = TOP + this.rows.length * (SEAT + GAP);
      const g = el('g', { role: 'group', 'aria-label': `Row ${label}` });
      const text = el('text', { x: 4, y: y + SEAT * 0.7, class: 'row-label', 'aria-hidden': 'true' });
      text.textContent = label;
      g.append(text);
      let x = LABEL;
      const views: SeatView[] = [];
      for (const s of list) {
        const v: SeatView = { seat: s, status: s.status as SeatState,
          mine: s.held_by_me === true, selected: false,
          el: this.seatElement(s, x, y), row: this.rows.length };
        g.append(v.el);
        views.push(v);
        this.seats.set(s.id, v);
        x += SEAT + GAP;
        if (aisles.get(label)?.has(s.number)) x += AISLE;
      }
      width = Math.max(width, x);
      this.rows.push(views);
      groups.push(g);
    });
    const height = TOP + this.rows.length * (SEAT + GAP) + 8;
    const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'group',
      'aria-label': 'Seat map; the screen is at the top', class: 'seatmap' });
    const screen = el('path', { d: `M ${LABEL} 30 Q ${width / 2} 10 ${width - GAP} 30`,
      class: 'screen', 'aria-hidden': 'true' });
    const st = el('text', { x: width / 2, y: 44, class: 'screen-label', 'text-anchor': 'middle', 'aria-hidden': 'true' });
    st.textContent = 'SCREEN';
    // Never so small that a seat is under 24 CSS pixels: a narrow screen
    // scrolls the map sideways instead (the focused seat scrolls into view).
    svg.style.minWidth = `${Math.ceil(width * MIN_SCALE)}px`;
    svg.append(screen, st, ...groups);
    svg.addEventListener('keydown', (e) => this.key(e));
    this.host.replaceChildren(svg);
    const first = this.rows[0]?.[0];
    this.focusId = first ? first.seat.id : 0;
    for (const v of this.seats.values()) this.paint(v);
  }

  private seatElement(s: Seat, x: number, y: number): SVGGElement {
    const g = el('g', { class: `seat tier-${s.tier.replace(/[^a-z0-9-]/gi, '')}`,
      role: 'checkbox', tabindex: -1, 'data-seat-id': s.id,
      'data-row': s.row, 'data-number': s.number });
    const r = el('rect', { x, y, width: SEAT, height: SEAT, rx: 6, class: 'seat-box' });
    const mark = el('path', { class: 'seat-mark', 'aria-hidden': 'true', d: '' });
    mark.dataset['x'] = String(x);
    mark.dataset['y'] = String(y);
    g.append(r, mark);
    g.addEventListener('click', () => this.toggle(s.id));
    return g;
  }

  // Draw one seat's state: attributes for styling and tests, its label
  // for assistive technology, and a mark (tick or cross) for the eye.
  paint(v: SeatView): void {
    const taken = v.status !== 'available' && !v.mine;
    const state = v.mine ? 'yours' : v.selected ? 'selected' : taken ? 'taken' : 'available';
    v.el.setAttribute('data-status', v.status);
    v.el.setAttribute('data-state', state);
    v.el.setAttribute('aria-checked', String(v.selected || v.mine));
    v.el.setAttribute('aria-disabled', String(taken));
    v.el.setAttribute('tabindex', v.seat.id === this.focusId ? '0' : '-1');
    const price = money(v.seat.price_cents, this.currency);
    const words = { yours: v.status === 'booked' ? 'booked by you' : 'held by you', selected: 'selected', taken: 'taken', available: 'available' };
    v.el.setAttribute('aria-label',
      `Row ${v.seat.row}, seat ${v.seat.number}, ${v.seat.tier}, ${price}, ${words[state]}`);
    const mark = v.el.querySelector('.seat-mark') as SVGPathElement;
    const x = Number(mark.dataset['x']), y = Number(mark.dataset['y']);
    if (state === 'taken')
      mark.setAttribute('d', `M ${x + 8} ${y + 8} L ${x + 20} ${y + 20} M ${x + 20} ${y + 8} L ${x + 8} ${y + 20}`);
    else if (state === 'selected' || state === 'yours')
      mark.setAttribute('d', `M ${x + 7} ${y + 15} L ${x + 12} ${y + 20} L ${x + 21} ${y + 9}`);
    else
      mark.setAttribute('d', '');
  }

  setStatus(id: number, status: SeatState, mine?: boolean): void {
    const v = this.seats.get(id);
    if (!v) return;
    v.status = status;
    if (mine !== undefined) v.mine = mine;
    if (status === 'available') v.mine = false;
    if (status !== 'available' && !v.mine) v.selected = false;
    this.paint(v);
  }

  selected(): SeatView[] {
    return [...this.seats.values()].filter((v) => v.selected);
  }

  clearSelection(): void {
    for (const v of this.seats.values()) {
      if (v.selected) { v.selected = false; this.paint(v); }
    }
  }

  private toggle(id: number): void {
    const v = this.seats.get(id);
    if (!v) return;
    this.moveFocus(v, false);
    this.onToggle(v);
  }

  private moveFocus(v: SeatView, focus: boolean): void {
    const old = this.seats.get(this.focusId);
    this.focusId = v.seat.id;
    if (old) old.el.setAttribute('tabindex', '-1');
    v.el.setAttribute('tabindex', '0');
    if (focus) v.el.focus();
  }

  private key(e: KeyboardEvent): void {
    const cur = this.seats.get(this.focusId);
    if (!cur) return;
    const row = this.rows[cur.row]!;
    const i = row.indexOf(cur);
    let next: SeatView | undefined;
    switch (e.key) {
    case 'ArrowLeft': next = row[i - 1]; break;
    case 'ArrowRight': next = row[i + 1]; break;
    case 'Home': next = row[0]; break;
    case 'End': next = row[row.length - 1]; break;
    case 'ArrowUp':
    case 'ArrowDown': {
      const other = this.rows[cur.row + (e.key === 'ArrowUp' ? -1 : 1)];
      if (other) next = other.reduce((a, b) => Math.abs(b.seat.number - cur.seat.number) <
        Math.abs(a.seat.number - cur.seat.number) ? b : a);
      break;
    }
    case ' ':
    case 'Enter':
      e.preventDefault();
      this.toggle(cur.seat.id);
      return;
    default:
      return;
    }
    e.preventDefault();
    if (next) this.moveFocus(next, true);
  }
}
