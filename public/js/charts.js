// Live charts from the events received: events/s over event time, split by a chosen field's most
// common values, and the top values of that field. Plain SVG and <meter>, no library.
import { CHART_FIELDS, OTHER, timeSeries, topValues } from './chart-data.js';
import { byId, el, svg } from './dom.js';
import { eventTime } from './format.js';

/** @typedef {import('./chart-data.js').ChartField} ChartField */
/** @typedef {import('./event-store.js').Received} Received */

const SERIES = 5;
const TOP = 10;
const W = 600;
const H = 150;
const PAD = { left: 44, right: 8, top: 8, bottom: 22 };

export class Charts {
  #field = /** @type {HTMLSelectElement} */ (byId('chart-field'));
  #rate = byId('rate-chart');
  #legend = byId('chart-legend');
  #top = byId('top-rows');
  #note = byId('charts-note');
  /** @type {Received[]} */
  #events = [];
  #drawn = '';

  constructor() {
    this.#field.addEventListener('change', () => this.#draw(true));
  }

  /** Redraws when the events changed since the last drawing. */
  update(/** @type {Received[]} */ events) {
    this.#events = events;
    this.#draw(false);
  }

  #draw(/** @type {boolean} */ force) {
    const events = this.#events;
    const stamp = `${events.length}:${events.at(-1)?.seq ?? 0}:${this.#field.value}`;
    if (!force && stamp === this.#drawn) return;
    this.#drawn = stamp;
    const name = /** @type {ChartField} */ (this.#field.value);
    const paths = CHART_FIELDS[name];
    const data = events.map((e) => e.data);
    const top = topValues(data, paths, TOP);
    this.#note.textContent = `From the ${events.length.toLocaleString()} events received so far, by event time.`;
    this.#drawTop(top);
    const keys = top.slice(0, SERIES).map(([value]) => value);
    const timed = events.map((e) => ({ ms: eventTime(e.data), data: e.data }));
    this.#drawRate(timeSeries(timed, paths, keys), [...keys, OTHER], name);
  }

  #drawTop(/** @type {[string, number][]} */ top) {
    const max = top[0]?.[1] ?? 1;
    this.#top.replaceChildren(
      ...top.map(([value, count]) =>
        el('tr', {}, el('th', { scope: 'row' }, value), el('td', { class: 'count' }, count.toLocaleString()), el('td', {}, el('meter', { min: '0', max: String(max), value: String(count), 'aria-hidden': 'true' }))),
      ),
    );
  }

  /**
   * @param {ReturnType<typeof timeSeries>} series
   * @param {string[]} keys series in stacking order, OTHER last
   * @param {string} name
   */
  #drawRate(series, keys, name) {
    if (!series) {
      this.#rate.replaceChildren();
      this.#legend.replaceChildren();
      return;
    }
    const { start, width, buckets } = series;
    const seconds = width / 1000;
    const totals = buckets.map((b) => [...b.values()].reduce((a, n) => a + n, 0));
    const peak = Math.max(...totals) / seconds;
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    const barW = plotW / buckets.length;
    const time = (/** @type {number} */ ms) => new Date(ms).toLocaleTimeString();
    /** @type {SVGElement[]} */
    const parts = [
      svg('line', { x1: String(PAD.left), x2: String(W - PAD.right), y1: String(H - PAD.bottom), y2: String(H - PAD.bottom), class: 'axis' }),
      svg('text', { x: String(PAD.left - 4), y: String(PAD.top + 8), 'text-anchor': 'end' }, formatRate(peak)),
      svg('text', { x: String(PAD.left - 4), y: String(H - PAD.bottom), 'text-anchor': 'end' }, '0'),
      svg('text', { x: String(PAD.left), y: String(H - 6) }, time(start)),
      svg('text', { x: String(W - PAD.right), y: String(H - 6), 'text-anchor': 'end' }, time(start + buckets.length * width)),
    ];
    buckets.forEach((bucket, i) => {
      let y = H - PAD.bottom;
      keys.forEach((key, k) => {
        const count = bucket.get(key) ?? 0;
        if (count === 0) return;
        const h = (count / seconds / (peak || 1)) * plotH;
        y -= h;
        const label = `${time(start + i * width)}: ${key} ${count} event${count === 1 ? '' : 's'} (${formatRate(count / seconds)}/s)`;
        parts.push(
          svg(
            'rect',
            { x: (PAD.left + i * barW + 0.5).toFixed(1), y: y.toFixed(1), width: Math.max(1, barW - 1).toFixed(1), height: h.toFixed(1), class: `s${k === keys.length - 1 ? 'o' : k}`, 'data-key': key, 'data-count': String(count) },
            svg('title', {}, label),
          ),
        );
      });
    });
    this.#rate.setAttribute('aria-label', `Events per second over event time by ${name}, ${seconds} s per bar, peak ${formatRate(peak)}/s`);
    this.#rate.replaceChildren(...parts);
    this.#legend.replaceChildren(...keys.map((key, k) => el('li', {}, el('span', { class: `swatch s${k === keys.length - 1 ? 'o' : k}`, 'aria-hidden': 'true' }), key)));
  }
}

function formatRate(/** @type {number} */ perSecond) {
  return perSecond >= 10 ? String(Math.round(perSecond)) : perSecond.toFixed(perSecond >= 1 ? 1 : 2);
}
