// procq dashboard: plain script, no build step, no third-party code.
//
// Safety rule for this file: data from the API (targets, errors, output, meta) only ever reaches the page
// as text — through el()/textContent, which create text nodes — never through innerHTML or markup
// strings. Links are built from numeric ids only. The page's Content-Security-Policy forbids inline
// script and style, so widths are set through element.style (the CSSOM), which the policy allows.
'use strict';

(function () {
  const POLL_MS = 1500;
  const TOKEN_KEY = 'procq.apiToken';
  const BATCH_PAGE = 25;
  const JOB_PAGE = 50;
  const FAILURES_STEP = 20;
  const FAILURES_MAX = 100;
  const RATE_WINDOW_MS = 30000;
  const RATE_MIN_SPAN_MS = 10000;
  const RATE_MIN_FINISHED = 10;
  // Bar order: finished work first, then what is under way, then what waits.
  const BAR_STATES = ['OK', 'FAILED', 'RUNNING', 'PENDING', 'CANCELLED'];
  const JOB_STATES = ['PENDING', 'RUNNING', 'OK', 'FAILED', 'CANCELLED'];
  // Throughput buckets fill by the minute: the chart asks again this often, not at every refresh.
  const CHART_EVERY_MS = 15000;
  const SEARCH_DELAY_MS = 300;
  const TARGET_PREFIX_MAX = 256; // the API's longest ?target= prefix

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------------------------------------
  // DOM: strings always become text nodes.

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === 'class') node.className = value;
        else if (key === 'text') node.textContent = String(value);
        else if (key === 'data') Object.assign(node.dataset, value);
        else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? '' : String(value));
      }
    }
    appendAll(node, children);
    return node;
  }

  function appendAll(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  /**
   * Makes container's children exactly nodes, in order, moving only what is out of place: nodes kept
   * from the last refresh stay in the document, so a selection or a scrolled output tail survives.
   */
  function place(container, nodes) {
    nodes.forEach((node, i) => {
      if (container.children[i] !== node) container.insertBefore(node, container.children[i] || null);
    });
    while (container.children.length > nodes.length) container.lastElementChild.remove();
  }

  /** One node per item, rebuilt only when the item's signature changed since the last refresh. */
  function keyed(container, cache, items, keyOf, signatureOf, build) {
    const seen = new Set();
    const nodes = items.map((item) => {
      const key = keyOf(item);
      const signature = signatureOf(item);
      seen.add(key);
      const cached = cache.get(key);
      if (cached && cached.signature === signature) return cached.node;
      const node = build(item);
      cache.set(key, { signature, node });
      return node;
    });
    for (const key of [...cache.keys()]) if (!seen.has(key)) cache.delete(key);
    place(container, nodes);
  }

  const drawn = new WeakMap();

  /** Replaces node's content with build()'s (nodes, strings, nested lists; null skipped) only when the signature changed. */
  function redraw(node, signature, build) {
    if (drawn.get(node) === signature) return;
    drawn.set(node, signature);
    node.replaceChildren();
    appendAll(node, [build()]);
  }

  function positiveId(value) {
    const text = String(value);
    return /^[1-9][0-9]{0,17}$/.test(text) ? text : null;
  }

  /** A link inside the dashboard; the address is built from a validated id, never from data. */
  function link(kind, id, label) {
    const safe = positiveId(id);
    if (!safe) return el('span', { text: label });
    return el('a', { href: '#/' + kind + '/' + safe, text: label });
  }

  function badge(state) {
    const known = ['OK', 'FAILED', 'RUNNING', 'PENDING', 'CANCELLED', 'DONE', 'PAUSED', 'HALTED', 'ACTIVE', 'LIVE', 'LATE', 'STOPPED']
      .includes(state) ? state : 'PENDING';
    return el('span', { class: 'badge state-' + known, text: state || '?' });
  }

  // ---------------------------------------------------------------------------------------------
  // Formatting

  const clock = { offsetMs: 0 }; // server time minus browser time, from the Date header

  function serverNow() {
    return Date.now() + clock.offsetMs;
  }

  function parseTime(iso) {
    if (!iso) return null;
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? null : ms;
  }

  function formatTime(iso) {
    const ms = parseTime(iso);
    if (ms === null) return '—';
    const date = new Date(ms);
    const today = new Date();
    return date.toDateString() === today.toDateString() ? date.toLocaleTimeString() : date.toLocaleString();
  }

  function timeCell(iso) {
    return el('span', { title: iso || null, text: formatTime(iso) });
  }

  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
    if (seconds < 1) return Math.round(seconds * 1000) + ' ms';
    if (seconds < 60) return (seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)) + ' s';
    const total = Math.round(seconds);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    if (h > 0) return h + 'h ' + String(m).padStart(2, '0') + 'm';
    return m + 'm ' + String(s).padStart(2, '0') + 's';
  }

  function formatRate(perSecond) {
    if (perSecond === null || !Number.isFinite(perSecond)) return '—';
    if (perSecond >= 1) return (perSecond >= 100 ? Math.round(perSecond) : perSecond.toFixed(1)) + '/s';
    if (perSecond * 60 >= 1) return (perSecond * 60).toFixed(1) + '/min';
    return (perSecond * 3600).toFixed(1) + '/h';
  }

  // Peak memory arrives in KiB, as wait4 reports it; binary units keep the figure exact to the kernel's.
  function formatMemory(kib) {
    if (kib < 1024) return kib + ' KiB';
    const [value, unit] = kib < 1024 * 1024 ? [kib / 1024, 'MiB'] : [kib / (1024 * 1024), 'GiB'];
    return (value < 100 ? value.toFixed(1) : Math.round(value)) + ' ' + unit;
  }

  const known = (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0;

  /**
   * What an attempt cost: "CPU 12 ms user / 3 ms sys, peak 4.1 MiB", or only the parts that are known;
   * null when nothing is (a backend that cannot measure, a child that never started).
   */
  function costText(attempt) {
    const parts = [];
    if (known(attempt.cpuUserMs) || known(attempt.cpuSystemMs)) {
      const cpu = (ms) => (known(ms) ? formatDuration(ms / 1000) : '?');
      parts.push('CPU ' + cpu(attempt.cpuUserMs) + ' user / ' + cpu(attempt.cpuSystemMs) + ' sys');
    }
    if (known(attempt.maxRssKb)) parts.push('peak ' + formatMemory(attempt.maxRssKb));
    if (known(attempt.memoryPeakBytes)) parts.push('cgroup peak ' + formatMemory(attempt.memoryPeakBytes / 1024));
    return parts.length ? parts.join(', ') : null;
  }

  function number(n) {
    return Number(n || 0).toLocaleString();
  }

  // ---------------------------------------------------------------------------------------------
  // Progress: counts, rate and time left.

  // Samples of finished counts seen by this tab, per batch, for a rate over the recent past.
  const samples = new Map();

  function finishedOf(batch) {
    const c = batch.counts || {};
    return (c.OK || 0) + (c.FAILED || 0);
  }

  function observe(batch) {
    const now = Date.now();
    const done = finishedOf(batch);
    let list = samples.get(batch.id) || [];
    if (list.length && done < list[list.length - 1].done) list = []; // a retry sent work back
    list.push({ t: now, done });
    while (list.length > 2 && now - list[1].t > RATE_WINDOW_MS) list.shift();
    samples.set(batch.id, list);
  }

  /**
   * Jobs finished per second. While a batch runs and this tab has seen enough of it finish, the rate
   * over about the last half minute (so it follows a concurrency change or a retry); otherwise — slow
   * jobs, a page just opened, a finished batch — the average since the batch started.
   */
  function rateOf(batch) {
    if (batch.state === 'RUNNING') {
      const list = samples.get(batch.id) || [];
      if (list.length >= 2) {
        const first = list[0];
        const last = list[list.length - 1];
        if (last.t - first.t >= RATE_MIN_SPAN_MS && last.done - first.done >= RATE_MIN_FINISHED) {
          return (last.done - first.done) * 1000 / (last.t - first.t);
        }
      }
    }
    const started = parseTime(batch.startedAt);
    if (started === null || finishedOf(batch) === 0) return null;
    const end = parseTime(batch.finishedAt) ?? serverNow();
    const seconds = (end - started) / 1000;
    if (seconds <= 0) return null;
    return finishedOf(batch) / seconds;
  }

  function progressOf(batch) {
    const c = batch.counts || {};
    const total = batch.total || BAR_STATES.reduce((sum, s) => sum + (c[s] || 0), 0);
    const done = (c.OK || 0) + (c.FAILED || 0) + (c.CANCELLED || 0);
    const left = (c.PENDING || 0) + (c.RUNNING || 0);
    const rate = rateOf(batch);
    let eta = null;
    let etaText;
    if (batch.state === 'DONE') etaText = 'done';
    else if (batch.state === 'CANCELLED') etaText = left > 0 ? 'stopping' : 'cancelled';
    else if (batch.state === 'PENDING') etaText = 'waiting for a worker';
    else if (batch.state === 'PAUSED') etaText = 'paused';
    else if (batch.state === 'HALTED') etaText = 'halted';
    else if (rate && rate > 0) {
      eta = left / rate;
      etaText = '~' + formatDuration(eta);
    } else etaText = '—';
    const percent = total > 0 ? Math.floor((done * 100) / total) : 0;
    return { total, done, left, rate, eta, etaText, percent };
  }

  function progressBar(big) {
    const bar = el('div', {
      class: big ? 'bar big' : 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-label': 'batch progress',
    });
    for (const state of BAR_STATES) bar.append(el('span', { class: 'seg seg-' + state, data: { state } }));
    return bar;
  }

  function updateBar(bar, batch) {
    const c = batch.counts || {};
    const total = batch.total || 0;
    for (const seg of bar.children) {
      const n = c[seg.dataset.state] || 0;
      seg.style.width = total > 0 ? (n * 100 / total) + '%' : '0%';
      seg.title = seg.dataset.state + ': ' + number(n);
    }
    const p = progressOf(batch);
    bar.setAttribute('aria-valuemax', String(p.total));
    bar.setAttribute('aria-valuenow', String(p.done));
    bar.setAttribute('aria-valuetext', p.percent + '% finished');
  }

  // ---------------------------------------------------------------------------------------------
  // Throughput: jobs ended per minute over the last hour, an inline SVG bar chart.

  const SVG_NS = 'http://www.w3.org/2000/svg';
  const CHART_W = 600; // viewBox units; the chart is stretched to its box, so labels live in HTML
  const CHART_H = 100;

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    appendAll(node, children);
    return node;
  }

  function clockTime(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
  }

  /**
   * A panel charting `path` (a .../throughput answer): one bar per minute, OK under FAILED, to a
   * scale whose top is the busiest minute; a minute with none is a bar of height 0 over the axis.
   * `what` names a chart of more than one batch.
   */
  function throughputPanel(path, what) {
    const summary = el('p', { class: 'muted', id: 'throughput-summary', text: 'loading…' });
    // The queue's chart sits above the batches list: kept low so the list starts on the first screen.
    const chart = el('div', { class: what ? 'chart low' : 'chart', id: 'throughput-chart' });
    const root = el('section', { class: 'panel', id: 'throughput' },
      el('h2', { text: 'Throughput, last hour' + (what ? ' · ' + what : '') }), summary, chart);
    let askedAt = 0;

    async function refresh() {
      if (Date.now() - askedAt < CHART_EVERY_MS) return;
      const answer = await api(path);
      askedAt = Date.now();
      show(answer);
    }

    function show(answer) {
      const buckets = Array.isArray(answer && answer.buckets) ? answer.buckets : [];
      const seconds = answer.bucketSeconds || 60;
      const ended = (answer.ok || 0) + (answer.failed || 0);
      const peak = buckets.reduce((best, b) => (b.perSecond > best.perSecond ? b : best), { perSecond: 0 });
      summary.textContent = ended === 0
        ? 'No job ended in the last hour.'
        : number(ended) + ' ended (' + number(answer.ok) + ' OK, ' + number(answer.failed) + ' FAILED) · average '
          + formatRate(ended / (buckets.length * seconds)) + ' · busiest minute ' + formatRate(peak.perSecond)
          + ' at ' + clockTime(parseTime(peak.start));
      redraw(chart, JSON.stringify(buckets), () => {
        const top = peak.perSecond > 0 ? peak.perSecond * seconds : 1; // jobs in the busiest minute
        const slot = CHART_W / Math.max(1, buckets.length);
        const width = slot * 0.8;
        const height = (n) => (n * CHART_H) / top;
        const bars = buckets.map((b, i) => {
          const x = i * slot + (slot - width) / 2;
          const okH = height(b.ok);
          const failedH = height(b.failed);
          return svg('g', { class: 'bucket', 'data-ok': b.ok, 'data-failed': b.failed, 'data-start': b.start },
            svg('title', null, clockTime(parseTime(b.start)) + ': ' + number(b.ok) + ' OK, ' + number(b.failed)
              + ' FAILED (' + formatRate(b.perSecond) + ')'),
            svg('rect', { class: 'hit', x: i * slot, y: 0, width: slot, height: CHART_H }),
            svg('rect', { class: 'bar-OK', x, y: CHART_H - okH, width, height: okH }),
            svg('rect', { class: 'bar-FAILED', x, y: CHART_H - okH - failedH, width, height: failedH }));
        });
        const from = parseTime(answer.from);
        const to = parseTime(answer.to);
        return [
          el('div', { class: 'chart-scale' },
            el('span', { text: formatRate(peak.perSecond > 0 ? peak.perSecond : 0) }), el('span', { text: '0' })),
          el('div', { class: 'chart-plot' },
            svg('svg', {
              viewBox: '0 0 ' + CHART_W + ' ' + CHART_H, preserveAspectRatio: 'none', role: 'img',
              'aria-label': 'jobs ended per minute over the last hour',
            }, svg('line', { class: 'axis', x1: 0, y1: CHART_H, x2: CHART_W, y2: CHART_H }), bars),
            el('div', { class: 'chart-times' },
              el('span', { text: from === null ? '' : clockTime(from) }),
              el('span', { text: from === null ? '' : clockTime((from + to) / 2) }),
              el('span', { text: 'now' }))),
        ];
      });
    }

    return { root, refresh };
  }

  // ---------------------------------------------------------------------------------------------
  // API access, with the bearer token when one is kept.

  class AuthNeeded extends Error {}

  class ApiProblem extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  const auth = { needed: false };

  function storedToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch (e) {
      return null;
    }
  }

  /** Calls the API; {@code body}, when given, goes as JSON. */
  async function api(path, method, body) {
    const token = storedToken();
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method: method || 'GET', headers, cache: 'no-store', credentials: 'omit',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiProblem(0, 'cannot reach the procq API (' + e.message + ')');
    }
    // The Date header has whole seconds: follow it only when the clocks differ by more than that.
    const serverDate = parseTime(response.headers.get('Date'));
    if (serverDate !== null && Math.abs(serverDate - Date.now() - clock.offsetMs) > 1500) {
      clock.offsetMs = serverDate - Date.now();
    }
    if (response.status === 401) {
      askForToken(token);
      throw new AuthNeeded('token needed');
    }
    const text = await response.text();
    let answer = null;
    if (text) {
      try {
        answer = JSON.parse(text);
      } catch (e) {
        answer = null;
      }
    }
    if (!response.ok) {
      const message = answer && typeof answer.error === 'string' ? answer.error : 'HTTP ' + response.status;
      throw new ApiProblem(response.status, message);
    }
    return answer;
  }

  /** Shows the token form. {@code rejected} is the token the API just refused, if any. */
  function askForToken(rejected) {
    // A late answer to a request made with an older token must not throw away a newer one.
    if (rejected && storedToken() !== rejected) return;
    if (rejected) sessionStorage.removeItem(TOKEN_KEY);
    auth.needed = true;
    poller.stop();
    const message = $('token-message');
    message.textContent = rejected
      ? 'The API rejected that token. Enter a valid one.'
      : 'This procq API asks for a bearer token.';
    message.classList.toggle('rejected', Boolean(rejected));
    $('main').hidden = true;
    $('problem').hidden = true;
    $('token-panel').hidden = false;
    $('forget-token').hidden = true;
    setLive('off', 'token needed');
    $('token-input').focus();
  }

  function useToken(event) {
    event.preventDefault();
    const input = $('token-input');
    const token = input.value.trim();
    if (!token || /[\r\n]/.test(token)) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    input.value = '';
    auth.needed = false;
    $('token-panel').hidden = true;
    $('main').hidden = false;
    $('forget-token').hidden = false;
    poller.kick();
  }

  function forgetToken() {
    sessionStorage.removeItem(TOKEN_KEY);
    askForToken(null);
  }

  function setLive(kind, text) {
    const live = $('live');
    live.className = 'live ' + kind;
    live.textContent = text;
  }

  function showProblem(error) {
    const box = $('problem');
    if (!error) {
      box.hidden = true;
      return;
    }
    box.textContent = error.message || String(error);
    box.hidden = false;
  }

  // ---------------------------------------------------------------------------------------------
  // Polling: one refresh at a time, every POLL_MS while the tab is visible.

  const poller = {
    timer: null,
    running: false,
    again: false,

    kick() {
      clearTimeout(this.timer);
      this.timer = null;
      if (auth.needed) return;
      if (this.running) {
        this.again = true;
        return;
      }
      this.run();
    },

    stop() {
      clearTimeout(this.timer);
      this.timer = null;
      this.again = false;
    },

    async run() {
      this.running = true;
      const current = view;
      try {
        await current.refresh();
        if (current === view) {
          showProblem(null);
          setLive('on', 'live · ' + new Date().toLocaleTimeString());
        }
      } catch (error) {
        if (!(error instanceof AuthNeeded) && current === view) {
          showProblem(error);
          setLive('off', 'not updating');
        }
      }
      this.running = false;
      if (this.again) {
        this.again = false;
        this.run();
        return;
      }
      if (auth.needed) return;
      this.timer = setTimeout(() => {
        this.timer = null;
        if (document.hidden) {
          setLive('', 'paused while hidden');
          return;
        }
        this.kick();
      }, POLL_MS);
    },
  };

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !poller.timer && !poller.running) poller.kick();
  });

  // ---------------------------------------------------------------------------------------------
  // Routing: #/ (batches), #/batches/ID, #/jobs/ID, #/types, #/workers, #/schedules

  let view = null;

  function parseRoute() {
    const hash = location.hash.replace(/^#/, '') || '/';
    const question = hash.indexOf('?');
    const path = question < 0 ? hash : hash.slice(0, question);
    const params = new URLSearchParams(question < 0 ? '' : hash.slice(question + 1));
    let match = path.match(/^\/batches\/([0-9]+)\/?$/);
    if (match && positiveId(match[1])) return { page: 'batch', id: match[1], params };
    match = path.match(/^\/jobs\/([0-9]+)\/?$/);
    if (match && positiveId(match[1])) return { page: 'job', id: match[1], params };
    if (/^\/types\/?$/.test(path)) return { page: 'types', params };
    if (/^\/workers\/?$/.test(path)) return { page: 'workers', params };
    if (/^\/schedules\/?$/.test(path)) return { page: 'schedules', params };
    return { page: 'batches', params };
  }

  function setHashQuery(params) {
    const hash = location.hash.replace(/^#/, '') || '/';
    const path = hash.split('?')[0];
    const query = params.toString();
    history.replaceState(null, '', '#' + path + (query ? '?' + query : ''));
  }

  function crumbs(...parts) {
    const nav = $('crumbs');
    drawn.delete(nav);
    nav.replaceChildren();
    parts.forEach((part, i) => {
      if (i > 0) nav.append(el('span', { class: 'sep', text: '/' }));
      nav.append(part);
    });
  }

  function route() {
    const where = parseRoute();
    if (where.page === 'batch') view = batchView(where.id, where.params);
    else if (where.page === 'job') view = jobView(where.id);
    else if (where.page === 'types') view = typesView();
    else if (where.page === 'workers') view = workersView();
    else if (where.page === 'schedules') view = schedulesView();
    else view = batchesView(where.params);
    // Batch and job pages belong to Batches in the header's page links.
    const section = ['types', 'workers', 'schedules'].includes(where.page) ? where.page : 'batches';
    for (const a of $('pages').children) {
      if (a.dataset.page === section) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    $('main').replaceChildren(view.root);
    window.scrollTo(0, 0);
    poller.kick();
  }

  // ---------------------------------------------------------------------------------------------
  // Batches, newest first

  function batchesView(params) {
    let before = positiveId(params.get('before'));
    const newer = []; // cursors of the pages before this one, for "Newer"
    let olderCursor = null;

    const rows = el('tbody');
    const empty = el('p', { class: 'empty', hidden: true, text: 'No batches yet. Submit one with POST /api/v1/batches.' });
    const newestButton = el('button', { type: 'button', text: 'Newest', onclick: () => go(null, true) });
    const newerButton = el('button', { type: 'button', text: '← Newer', onclick: () => go(newer.pop() || null, false) });
    const olderButton = el('button', {
      type: 'button', text: 'Older →', id: 'older-batches',
      onclick: () => { newer.push(before); go(olderCursor, false); },
    });

    const throughput = throughputPanel('/api/v1/throughput', 'all batches');
    const root = el('div', { class: 'batches-view' },
      throughput.root,
      el('section', { class: 'panel' },
        el('h1', { text: 'Batches' }),
        el('table', { id: 'batches' },
          el('thead', null, el('tr', null,
            ['Batch', 'Type', 'State', 'Progress', 'Rate', 'Time left', 'Created'].map((t) => el('th', { text: t })))),
          rows),
        empty,
        el('div', { class: 'pager' }, newestButton, newerButton, olderButton)));

    crumbs();

    function go(cursor, reset) {
      if (reset) newer.length = 0;
      before = cursor;
      const query = new URLSearchParams();
      if (before) query.set('before', before);
      setHashQuery(query);
      poller.kick();
    }

    async function refresh() {
      const query = '/api/v1/batches?limit=' + BATCH_PAGE + (before ? '&before=' + before : '');
      const [page] = await Promise.all([api(query), throughput.refresh()]);
      const items = Array.isArray(page && page.items) ? page.items : [];
      olderCursor = null;
      if (page && typeof page.next === 'string') {
        const q = page.next.indexOf('?');
        olderCursor = positiveId(new URLSearchParams(q < 0 ? '' : page.next.slice(q + 1)).get('before'));
      }
      place(rows, items.map(batchRow));
      const shown = new Set(items.map((batch) => batch.id));
      for (const key of rowsById.keys()) if (!shown.has(key)) rowsById.delete(key);
      empty.hidden = items.length > 0 || Boolean(before);
      olderButton.disabled = !olderCursor;
      newerButton.disabled = newer.length === 0;
      newestButton.disabled = !before;
    }

    // Rows are kept and updated in place, so bars move smoothly instead of being redrawn from zero.
    const rowsById = new Map();

    function batchRow(batch) {
      observe(batch);
      let row = rowsById.get(batch.id);
      if (!row) {
        row = {
          bar: progressBar(false),
          state: el('td'),
          counts: el('div', { class: 'counts' }),
          rate: el('td', { class: 'num rate' }),
          eta: el('td', { class: 'num eta' }),
        };
        row.tr = el('tr', { data: { batch: String(batch.id) } },
          el('td', { class: 'num' }, link('batches', batch.id, '#' + batch.id)),
          el('td', { class: 'type', text: batch.type }),
          row.state,
          el('td', { class: 'progress' }, row.bar, row.counts),
          row.rate,
          row.eta,
          el('td', { class: 'num' }, timeCell(batch.createdAt)));
        rowsById.set(batch.id, row);
      }
      updateBar(row.bar, batch);
      const p = progressOf(batch);
      const c = batch.counts || {};
      redraw(row.state, batch.state, () => badge(batch.state));
      redraw(row.counts, JSON.stringify(c), () => [
        ...BAR_STATES.filter((s) => c[s] > 0).map((s) =>
          el('span', { class: 'count small', data: { state: s } },
            el('span', { class: 'swatch seg-' + s }), el('span', { class: 'n', text: number(c[s]) }),
            el('span', { class: 'muted', text: s }))),
        el('span', { class: 'count small muted', text: 'of ' + number(p.total) })]);
      row.rate.textContent = formatRate(p.rate);
      row.eta.textContent = p.etaText;
      return row.tr;
    }

    return { root, refresh };
  }

  // ---------------------------------------------------------------------------------------------
  // One batch: progress, why it halted, failures with their output, every job, pause, resume, cancel and retry

  function batchView(id, params) {
    let filter = JOB_STATES.includes(params.get('state')) ? params.get('state') : '';
    let search = (params.get('target') || '').slice(0, TARGET_PREFIX_MAX);
    let searchTimer = null;
    let after = 0;
    const earlier = []; // cursors of previous job pages
    let nextAfter = null;
    let failuresShown = FAILURES_STEP;
    const details = new Map(); // job id -> { key, job } for failed jobs' output tails
    const failureCards = new Map();
    const jobRowCache = new Map();

    const title = el('h1', null, el('span', { text: 'Batch #' + id }));
    const facts = el('p', { class: 'muted', id: 'batch-facts' });
    const bar = progressBar(true);
    bar.id = 'batch-bar';
    const countsBox = el('div', { class: 'counts', id: 'batch-counts' });
    const countCells = {};
    for (const state of BAR_STATES) {
      const n = el('span', { class: 'n', text: '0' });
      countCells[state] = n;
      countsBox.append(el('button', {
        type: 'button', class: 'count', data: { state }, title: 'Show the ' + state + ' jobs',
        onclick: () => setFilter(state),
      }, el('span', { class: 'swatch seg-' + state }), n, el('span', { class: 'muted', text: state })));
    }
    const totalCell = el('b', { text: '0' });
    const percentCell = el('b', { text: '0%' });
    const rateCell = el('b', { id: 'batch-rate', text: '—' });
    const etaCell = el('b', { id: 'batch-eta', text: '—' });
    const stats = el('div', { class: 'stats' },
      el('span', null, 'total ', totalCell), el('span', null, 'finished ', percentCell),
      el('span', null, 'rate ', rateCell), el('span', null, 'time left ', etaCell));

    const actionResult = el('span', { class: 'result', id: 'action-result' });
    const cancelButton = el('button', { type: 'button', class: 'danger', id: 'cancel-batch', text: 'Cancel batch' });
    const retryButton = el('button', { type: 'button', id: 'retry-batch', text: 'Retry failed' });
    const pauseButton = el('button', { type: 'button', id: 'pause-batch', text: 'Pause' });
    const resumeButton = el('button', { type: 'button', class: 'primary', id: 'resume-batch', text: 'Resume', hidden: true });
    const actions = el('div', { class: 'actions' }, pauseButton, resumeButton, cancelButton, retryButton, actionResult);
    const haltNote = el('p', { class: 'halt-reason', id: 'halt-reason', role: 'status', hidden: true });
    pauseButton.addEventListener('click', () => act('pause', pauseButton,
      (batch) => 'Paused: nothing more starts; ' + number(batch.counts.RUNNING) + ' running finish.'));
    resumeButton.addEventListener('click', () => act('resume', resumeButton,
      (batch) => 'Resumed: ' + number(batch.counts.PENDING) + ' jobs pending.'));
    confirmable(cancelButton, 'Cancel every pending job and stop the running ones?', 'Yes, cancel', 'cancel');
    confirmable(retryButton, 'Run the failed jobs again?', 'Yes, retry', 'retry');

    const failuresTitle = el('h2', { text: 'Failed targets' });
    const failuresList = el('div', { id: 'failures' });
    const failuresMore = el('button', {
      type: 'button', text: 'Show more failures', hidden: true,
      onclick: () => { failuresShown = Math.min(FAILURES_MAX, failuresShown + FAILURES_STEP); poller.kick(); },
    });
    const failuresNote = el('p', { class: 'hint', hidden: true });
    const failuresPanel = el('section', { class: 'panel', id: 'failures-panel', hidden: true },
      failuresTitle, failuresList, failuresMore, failuresNote);

    const filterSelect = el('select', { id: 'job-filter', 'aria-label': 'Show jobs in state' },
      el('option', { value: '', text: 'all states' }),
      JOB_STATES.map((s) => el('option', { value: s, text: s })));
    filterSelect.value = filter;
    filterSelect.addEventListener('change', () => setFilter(filterSelect.value));
    const searchBox = el('input', {
      type: 'search', id: 'job-search', placeholder: 'target starts with…', maxlength: TARGET_PREFIX_MAX,
      spellcheck: 'false', autocomplete: 'off', 'aria-label': 'Show jobs whose target starts with',
    });
    searchBox.value = search;
    // Searched a moment after the typing stops, not at every key.
    searchBox.addEventListener('input', () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => setSearch(searchBox.value), SEARCH_DELAY_MS);
    });
    const searchNote = el('p', { class: 'hint', id: 'job-search-note', hidden: true });
    const jobRows = el('tbody');
    const jobsEmpty = el('p', { class: 'empty', hidden: true });
    const throughput = throughputPanel('/api/v1/batches/' + id + '/throughput');
    const firstButton = el('button', { type: 'button', text: 'First', onclick: () => { earlier.length = 0; after = 0; poller.kick(); } });
    const prevButton = el('button', { type: 'button', text: '← Previous', onclick: () => { after = earlier.pop() || 0; poller.kick(); } });
    const nextButton = el('button', {
      type: 'button', text: 'Next →', id: 'next-jobs',
      onclick: () => { if (nextAfter) { earlier.push(after); after = nextAfter; poller.kick(); } },
    });
    const jobsPanel = el('section', { class: 'panel' },
      el('div', { class: 'toolbar' }, el('h2', { class: 'grow', text: 'Jobs' }), searchBox,
        el('label', { for: 'job-filter', text: 'state' }), filterSelect),
      searchNote,
      el('table', { id: 'jobs' },
        el('thead', null, el('tr', null,
          ['Job', 'Target', 'State', 'Attempts', 'Exit', 'Error', 'Finished'].map((t) => el('th', { text: t })))),
        jobRows),
      jobsEmpty,
      el('div', { class: 'pager' }, firstButton, prevButton, nextButton));

    const root = el('div', { class: 'batch-view', data: { batch: id } },
      el('section', { class: 'panel' }, title, facts, haltNote, bar, countsBox, stats, actions),
      throughput.root, failuresPanel, jobsPanel);

    crumbs(el('a', { href: '#/', text: 'Batches' }), el('span', { text: 'Batch #' + id }));

    function setFilter(state) {
      filter = JOB_STATES.includes(state) ? state : '';
      filterSelect.value = filter;
      listChanged();
    }

    function setSearch(prefix) {
      if (prefix === search) return;
      search = prefix;
      listChanged();
    }

    /** The jobs list shows another state or prefix: from its first page, and in the address. */
    function listChanged() {
      earlier.length = 0;
      after = 0;
      const query = new URLSearchParams();
      if (filter) query.set('state', filter);
      if (search) query.set('target', search);
      setHashQuery(query);
      poller.kick();
    }

    /** Pause and resume need no confirmation: each undoes the other. */
    async function act(action, button, said) {
      button.disabled = true;
      actionResult.textContent = action === 'pause' ? 'pausing…' : 'resuming…';
      try {
        actionResult.textContent = said(await api('/api/v1/batches/' + id + '/' + action, 'POST'));
      } catch (error) {
        if (!(error instanceof AuthNeeded)) actionResult.textContent = action + ' failed: ' + error.message;
      }
      poller.kick();
    }

    /** A button that asks once, inline (no native dialog), then calls the batch action. */
    function confirmable(button, question, yes, action) {
      button.addEventListener('click', () => {
        const box = el('span', { class: 'confirm' },
          el('span', { text: question }),
          el('button', {
            type: 'button', class: action === 'cancel' ? 'danger' : 'primary', id: 'confirm-' + action, text: yes,
            onclick: async () => {
              box.remove();
              button.hidden = false;
              actionResult.textContent = action === 'cancel' ? 'cancelling…' : 'retrying…';
              try {
                const batch = await api('/api/v1/batches/' + id + '/' + action, 'POST');
                actionResult.textContent = action === 'cancel'
                  ? 'Cancelled: ' + number(batch.counts.CANCELLED) + ' jobs will not run.'
                  : 'Retrying: ' + number(batch.counts.PENDING) + ' jobs pending.';
              } catch (error) {
                if (!(error instanceof AuthNeeded)) actionResult.textContent = action + ' failed: ' + error.message;
              }
              poller.kick();
            },
          }),
          el('button', { type: 'button', text: 'No', onclick: () => { box.remove(); button.hidden = false; } }));
        button.hidden = true;
        button.after(box);
      });
    }

    async function refresh() {
      const base = '/api/v1/batches/' + id;
      const jobsQuery = base + '/jobs?limit=' + JOB_PAGE + (filter ? '&state=' + filter : '')
        + (search ? '&target=' + encodeURIComponent(search) : '') + (after ? '&after=' + after : '');
      const searched = search;
      const [batch, failed, jobs] = await Promise.all([
        api(base),
        api(base + '/jobs?state=FAILED&limit=' + failuresShown),
        // A prefix the API refuses (a control character) empties the list with its reason, not the page.
        api(jobsQuery).catch((error) => {
          if (error instanceof ApiProblem && error.status === 400 && searched) return { items: [], next: null, refused: error.message };
          throw error;
        }),
        throughput.refresh(),
      ]);
      showBatch(batch);
      await showFailures(batch, failed);
      showJobs(jobs, searched);
    }

    function showBatch(batch) {
      observe(batch);
      redraw(title, batch.state, () => [el('span', { text: 'Batch #' + batch.id }), badge(batch.state),
        el('span', { class: 'muted', text: batch.type })]);
      redraw(facts, [batch.priority, batch.startedAt, batch.finishedAt].join('|'), () => [
        'type ', el('b', { text: batch.type }),
        ' · priority ', String(batch.priority ?? 0),
        ' · created ', timeCell(batch.createdAt),
        ' · started ', timeCell(batch.startedAt),
        ' · finished ', timeCell(batch.finishedAt)]);
      updateBar(bar, batch);
      const c = batch.counts || {};
      for (const state of BAR_STATES) countCells[state].textContent = number(c[state]);
      const p = progressOf(batch);
      totalCell.textContent = number(p.total);
      percentCell.textContent = p.percent + '%';
      rateCell.textContent = formatRate(p.rate);
      etaCell.textContent = p.etaText;
      const held = batch.state === 'PAUSED' || batch.state === 'HALTED';
      cancelButton.disabled = !(batch.state === 'PENDING' || batch.state === 'RUNNING' || held);
      pauseButton.hidden = held;
      pauseButton.disabled = !(batch.state === 'PENDING' || batch.state === 'RUNNING');
      resumeButton.hidden = !held;
      resumeButton.disabled = !held;
      haltNote.hidden = batch.state !== 'HALTED' && batch.state !== 'PAUSED';
      haltNote.textContent = batch.state === 'HALTED'
        ? 'Halted: ' + (batch.haltReason || 'its failure budget ran out') + '. Nothing more starts until it is resumed.'
        : 'Paused by an operator. Nothing more starts until it is resumed.';
      retryButton.disabled = !(c.FAILED > 0);
      retryButton.textContent = c.FAILED > 0 ? 'Retry ' + number(c.FAILED) + ' failed' : 'Retry failed';
    }

    async function showFailures(batch, page) {
      const items = Array.isArray(page && page.items) ? page.items : [];
      const failedCount = (batch.counts && batch.counts.FAILED) || 0;
      failuresPanel.hidden = items.length === 0;
      if (items.length === 0) return;
      failuresTitle.textContent = 'Failed targets (' + number(failedCount) + ')';
      // The job list carries the error but not the output; each failure's tail comes from its job,
      // fetched once per attempt and kept while the job stays the same.
      const wanted = items.map((job) => ({ job, key: job.attemptCount + ':' + job.state + ':' + job.finishedAt }));
      await Promise.all(wanted.filter(({ job, key }) => !details.has(job.id) || details.get(job.id).key !== key)
        .map(async ({ job, key }) => {
          try {
            details.set(job.id, { key, job: await api('/api/v1/jobs/' + job.id) });
          } catch (error) {
            if (error instanceof AuthNeeded) throw error;
          }
        }));
      const listed = new Set(items.map((job) => job.id));
      for (const jobId of [...details.keys()]) if (!listed.has(jobId)) details.delete(jobId);
      keyed(failuresList, failureCards, wanted, ({ job }) => job.id,
        ({ job, key }) => key + (details.has(job.id) ? ':' + details.get(job.id).key : ':none'),
        ({ job }) => failureCard(job, details.get(job.id)));
      const more = items.length < failedCount;
      failuresMore.hidden = !more || failuresShown >= FAILURES_MAX;
      failuresNote.hidden = !(more && failuresShown >= FAILURES_MAX);
      failuresNote.textContent = 'Showing the first ' + items.length + '. Choose FAILED in the jobs list below to page through all of them.';
    }

    function failureCard(job, detail) {
      const attempts = detail && Array.isArray(detail.job.attempts) ? detail.job.attempts : [];
      const last = attempts.length ? attempts[attempts.length - 1] : null;
      const tail = last && last.outputTail ? last.outputTail : null;
      return el('article', { class: 'failure', data: { job: String(job.id) } },
        el('div', { class: 'failure-head' },
          el('span', { class: 'target', text: job.target }),
          link('jobs', job.id, 'job #' + job.id),
          el('span', { class: 'muted', text: 'attempt ' + job.attemptCount + ' of ' + job.maxAttempts }),
          el('span', { class: 'muted', text: exitText(job.exitCode, job.signal) })),
        el('div', { class: 'reason', text: job.error || 'failed' }),
        detail
          ? el('pre', { class: 'tail', text: tail === null ? '(no output)' : tail })
          : el('p', { class: 'hint', text: 'output not loaded yet' }));
    }

    function showJobs(page, searched) {
      const items = Array.isArray(page && page.items) ? page.items : [];
      searchNote.hidden = !page.refused;
      searchNote.textContent = page.refused ? 'Not searched: ' + page.refused : '';
      jobsEmpty.textContent = searched
        ? 'No job' + (filter ? ' in state ' + filter : '') + ' has a target starting with “' + searched + '”.'
        : 'No jobs in this state.';
      nextAfter = null;
      if (page && typeof page.next === 'string') {
        const q = page.next.indexOf('?');
        nextAfter = positiveId(new URLSearchParams(q < 0 ? '' : page.next.slice(q + 1)).get('after'));
      }
      const signature = (job) => JSON.stringify([job.state, job.attemptCount, job.maxAttempts, job.exitCode, job.signal, job.error, job.finishedAt]);
      keyed(jobRows, jobRowCache, items, (job) => job.id, signature, (job) => el('tr', { data: { job: String(job.id) } },
        el('td', { class: 'num' }, link('jobs', job.id, '#' + job.id)),
        el('td', { class: 'target', title: job.target, text: job.target }),
        el('td', null, badge(job.state)),
        el('td', { class: 'num', text: job.attemptCount + ' / ' + job.maxAttempts }),
        el('td', { class: 'num', text: exitText(job.exitCode, job.signal) }),
        el('td', { class: 'error', title: job.error || null, text: job.error || '' }),
        el('td', { class: 'num' }, timeCell(job.finishedAt))));
      jobsEmpty.hidden = items.length > 0;
      nextButton.disabled = !nextAfter;
      prevButton.disabled = earlier.length === 0;
      firstButton.disabled = after === 0;
    }

    return { root, refresh };
  }

  function exitText(exitCode, signal) {
    if (signal !== null && signal !== undefined) return 'signal ' + signal;
    if (exitCode !== null && exitCode !== undefined) return 'exit ' + exitCode;
    return '';
  }

  // ---------------------------------------------------------------------------------------------
  // One job and every attempt

  function costSpan(attempt) {
    const text = costText(attempt);
    if (text !== null) return el('span', { class: 'muted cost', text });
    return el('span', { class: 'muted cost unknown', title: 'CPU and memory not measured for this attempt', text: 'CPU —' });
  }

  function jobView(id) {
    const title = el('h1', null, el('span', { text: 'Job #' + id }));
    const facts = el('dl', { class: 'facts', id: 'job-facts' });
    const meta = el('pre', { class: 'meta', id: 'job-meta' });
    const metaPanel = el('section', { class: 'panel', hidden: true }, el('h2', { text: 'Meta' }), meta);
    const attemptsTitle = el('h2', { text: 'Attempts' });
    const attemptsList = el('div', { id: 'attempts' });
    const attemptCards = new Map();
    const root = el('div', { class: 'job-view', data: { job: id } },
      el('section', { class: 'panel' }, title, facts),
      metaPanel,
      el('section', { class: 'panel' }, attemptsTitle, attemptsList));
    crumbs(el('a', { href: '#/', text: 'Batches' }), el('span', { text: 'Job #' + id }));

    async function refresh() {
      const job = await api('/api/v1/jobs/' + id);
      redraw($('crumbs'), 'job:' + job.id + ':' + job.batchId, () => [
        el('a', { href: '#/', text: 'Batches' }), el('span', { class: 'sep', text: '/' }),
        link('batches', job.batchId, 'Batch #' + job.batchId), el('span', { class: 'sep', text: '/' }),
        el('span', { text: 'Job #' + job.id })]);
      redraw(title, job.state, () => [el('span', { text: 'Job #' + job.id }), badge(job.state), el('span', { class: 'muted', text: job.type })]);
      const fact = (name, value) => [el('dt', { text: name }), el('dd', null, value)];
      const summary = { ...job, attempts: undefined };
      redraw(facts, JSON.stringify(summary), () => [
        fact('target', el('span', { class: 'job-target', id: 'job-target', text: job.target })),
        fact('batch', link('batches', job.batchId, '#' + job.batchId)),
        fact('state', badge(job.state)),
        fact('attempts', job.attemptCount + ' of ' + job.maxAttempts),
        fact('exit', exitText(job.exitCode, job.signal) || '—'),
        fact('error', el('span', { id: 'job-error', text: job.error || '—' })),
        fact('worker', job.workerId === null || job.workerId === undefined ? '—' : '#' + job.workerId),
        fact('created', timeCell(job.createdAt)),
        fact('runs at', timeCell(job.runAt)),
        fact('started', timeCell(job.startedAt)),
        fact('finished', timeCell(job.finishedAt)),
      ].flat());
      metaPanel.hidden = job.meta === null || job.meta === undefined;
      const metaText = metaPanel.hidden ? '' : JSON.stringify(job.meta, null, 2);
      if (meta.textContent !== metaText) meta.textContent = metaText;
      const attempts = Array.isArray(job.attempts) ? job.attempts : [];
      attemptsTitle.textContent = 'Attempts (' + attempts.length + ')';
      if (attempts.length === 0) {
        attemptCards.clear();
        attemptsList.replaceChildren(el('p', { class: 'empty', text: job.state === 'RUNNING' ? 'The first attempt is running.' : 'No attempt has finished yet.' }));
        return;
      }
      if (attemptsList.firstElementChild && attemptsList.firstElementChild.tagName === 'P') attemptsList.replaceChildren();
      keyed(attemptsList, attemptCards, attempts, (a) => a.attempt, (a) => JSON.stringify(a), (a) => {
        const outcome = typeof a.outcome === 'string' ? a.outcome : '';
        return el('article', { class: 'attempt outcome-' + (/^[A-Z_]+$/.test(outcome) ? outcome : 'OTHER'), data: { attempt: String(a.attempt) } },
          el('div', { class: 'attempt-head' },
            el('b', { text: 'Attempt ' + a.attempt }),
            el('span', { class: 'outcome', text: outcome }),
            el('span', { class: 'muted', text: exitText(a.exitCode, a.signal) }),
            typeof a.decidedBy === 'string'
              ? el('span', { class: 'muted decided-by', title: "the type's exit-code rule that decided this attempt", text: 'decided by ' + a.decidedBy })
              : null,
            el('span', { class: 'muted', text: formatDuration((a.durationMs || 0) / 1000) }),
            costSpan(a),
            el('span', { class: 'muted', text: a.workerId === null || a.workerId === undefined ? '' : 'worker #' + a.workerId }),
            el('span', { class: 'muted' }, timeCell(a.startedAt), ' → ', timeCell(a.finishedAt))),
          a.error ? el('div', { class: 'reason', text: a.error }) : null,
          el('pre', { class: 'tail', text: a.outputTail ? a.outputTail : '(no output)' }));
      });
    }

    return { root, refresh };
  }

  // ---------------------------------------------------------------------------------------------
  // Job types: live limits beside what runs now, pause, resume and concurrency

  /** A page's one panel: its title, a hint, one table and the note shown instead when the table is empty. */
  function tablePanel(title, hint, tableId, headings, rows, empty) {
    return el('section', { class: 'panel' },
      el('h1', { text: title }),
      el('p', { class: 'hint', text: hint }),
      el('table', { id: tableId }, el('thead', null, el('tr', null, headings.map((t) => el('th', { text: t })))), rows),
      empty);
  }

  /** A limit as the page says it, or null when it is not set. */
  function limitText(value, unit) {
    return value === null || value === undefined ? null : number(value) + unit;
  }

  function typesView() {
    const rows = el('tbody');
    const empty = el('p', { class: 'empty', hidden: true, text: 'No job types. They come from the job-types file (PROCQ_JOB_TYPES).' });
    const root = el('div', { class: 'types-view' }, tablePanel('Job types',
      'Live values from procq.job_type: a change here reaches every worker within seconds, without a restart.',
      'types', ['Type', 'State', 'Running', 'Limits', 'Last minute', 'Steer'], rows, empty));
    crumbs();

    // Rows are kept between refreshes, so a concurrency being typed in is not thrown away.
    const rowsByName = new Map();

    async function refresh() {
      const types = await api('/api/v1/types');
      const items = Array.isArray(types) ? types : [];
      place(rows, items.flatMap((type) => typeRows(type)));
      const shown = new Set(items.map((type) => type.name));
      for (const name of [...rowsByName.keys()]) if (!shown.has(name)) rowsByName.delete(name);
      empty.hidden = items.length > 0;
    }

    function typeRows(type) {
      let row = rowsByName.get(type.name);
      if (!row) {
        row = typeRow(type.name);
        rowsByName.set(type.name, row);
      }
      row.type = type;
      redraw(row.state, String(type.paused), () => badge(type.paused ? 'PAUSED' : 'ACTIVE'));
      const byWorker = Object.entries(type.runningByWorker || {});
      redraw(row.running, JSON.stringify([type.running, type.globalConcurrency, byWorker]), () => [
        el('b', { class: 'n', text: number(type.running) }),
        type.globalConcurrency ? el('span', { class: 'muted', text: ' of ' + number(type.globalConcurrency) }) : null,
        el('div', { class: 'muted small by-worker' }, byWorker.length === 0 ? 'none now' : byWorker.flatMap(([worker, n], i) => [
          i > 0 ? ', ' : null, el('a', { href: '#/workers', text: '#' + (positiveId(worker) || '?') }), ': ' + number(n)]))]);
      const limits = [
        limitText(type.concurrency, ' per worker'),
        limitText(type.globalConcurrency, ' in all'),
        limitText(type.keyConcurrency, ' per key'),
        limitText(type.keyRate, '/s per key'),
        limitText(type.rate, '/s'),
      ].filter(Boolean);
      redraw(row.limits, limits.join('|'), () => el('div', { class: 'limit-list' }, limits.map((text) => el('span', { class: 'limit', text }))));
      redraw(row.lastMinute, [type.finishedLastMinute, type.okLastMinute].join('|'), () => [
        el('b', { class: 'n', text: number(type.finishedLastMinute) + '/min' }),
        el('div', { class: 'muted small', text: number(type.okLastMinute) + ' OK' })]);
      row.pause.textContent = type.paused ? 'Resume' : 'Pause';
      row.pause.className = type.paused ? 'pause-type primary' : 'pause-type';
      if (!row.edited) row.input.value = String(type.concurrency);
      const keys = Array.isArray(type.keys) ? type.keys : [];
      redraw(row.keysCell, JSON.stringify(keys), () => (keys.length === 0
        ? el('span', { class: 'muted', text: 'no key in use in the last minute' })
        : [el('span', { class: 'muted', text: 'busiest keys' }),
          keys.map((key) => el('span', { class: 'key', data: { key: key.key } },
            el('span', { class: 'mono', text: key.key }),
            el('span', { class: 'muted', text: number(key.running) + ' running · ' + number(key.startedLastMinute) + ' started/min' })))]));
      // Only a keyed type has a row of keys.
      const keyed = Boolean(type.file && type.file.key) || keys.length > 0;
      return keyed ? [row.tr, row.keysRow] : [row.tr];
    }

    function typeRow(name) {
      const row = {
        state: el('td', { class: 'state' }),
        running: el('td', { class: 'num running' }),
        limits: el('td', { class: 'limits' }),
        lastMinute: el('td', { class: 'num last-minute' }),
        keysCell: el('td', { class: 'keys', colspan: 6 }),
        result: el('span', { class: 'result type-result', role: 'status' }),
        pause: el('button', { type: 'button', class: 'pause-type', text: 'Pause' }),
        input: el('input', {
          type: 'number', class: 'concurrency-input', min: 1, step: 1, 'aria-label': 'concurrency per worker of ' + name,
        }),
        edited: false,
      };
      const set = el('button', { type: 'button', class: 'set-concurrency', text: 'Set' });
      row.input.addEventListener('input', () => { row.edited = true; });
      row.input.addEventListener('keydown', (event) => { if (event.key === 'Enter') set.click(); });
      row.pause.addEventListener('click', () => change(row, name, { paused: !row.type.paused },
        (type) => (type.paused ? 'Paused: nothing more starts; ' + number(type.running) + ' running finish.' : 'Resumed.')));
      // The API checks the number and says what is wrong with it.
      set.addEventListener('click', () => change(row, name, { concurrency: Number(row.input.value) }, (type) => {
        row.edited = false;
        return 'Concurrency ' + number(type.concurrency) + ' per worker.';
      }));
      row.tr = el('tr', { data: { type: name } },
        el('td', { class: 'type' }, el('b', { text: name })),
        row.state, row.running, row.limits, row.lastMinute,
        el('td', { class: 'steer' }, el('div', { class: 'steer-controls' }, row.pause, row.input, set), row.result));
      row.keysRow = el('tr', { class: 'keys-row', data: { keysOf: name } }, row.keysCell);
      return row;
    }

    /** PATCH /api/v1/types/NAME (admin scope); a refusal shows the API's own words. */
    async function change(row, name, patch, said) {
      row.result.textContent = 'saving…';
      try {
        row.result.textContent = said(await api('/api/v1/types/' + encodeURIComponent(name), 'PATCH', patch));
      } catch (error) {
        if (!(error instanceof AuthNeeded)) row.result.textContent = 'not changed: ' + error.message;
      }
      poller.kick();
    }

    return { root, refresh };
  }

  // ---------------------------------------------------------------------------------------------
  // Workers heard from in the last hour

  /** A worker is late once its heartbeat is older than this (procq.stuck_jobs uses the same minute). */
  const HEARTBEAT_LATE_S = 60;

  function formatAge(seconds) {
    if (!known(seconds)) return '—';
    const whole = Math.round(seconds);
    return (whole < 60 ? whole + ' s' : formatDuration(whole)) + ' ago';
  }

  function workersView() {
    const rows = el('tbody');
    const empty = el('p', { class: 'empty', hidden: true, text: 'No worker has been heard from in the last hour. Start one with: procq worker' });
    const root = el('div', { class: 'workers-view' }, tablePanel('Workers',
      'Worker runs heard from in the last hour, newest first. A live worker renews its heartbeat every few seconds.',
      'workers', ['Worker', 'Host', 'PID', 'Version', 'Started', 'Heartbeat', 'Running', 'Types', 'Metrics'], rows, empty));
    crumbs();
    const cache = new Map();

    async function refresh() {
      const workers = await api('/api/v1/workers');
      const items = Array.isArray(workers) ? workers : [];
      // A row is rebuilt when the worker changes; its heartbeat's age, which changes every time, is set in place.
      keyed(rows, cache, items, (w) => w.id, (w) => JSON.stringify([stateOf(w), w.host, w.pid, w.version, w.startedAt, w.stoppedAt,
        w.running, w.concurrency, w.types, w.metricsPort, w.hostHold]), workerRow);
      for (const w of items) cache.get(w.id).node.querySelector('.age').textContent = formatAge(w.heartbeatAgeSeconds);
      empty.hidden = items.length > 0;
    }

    function stateOf(w) {
      if (w.stoppedAt) return 'STOPPED';
      return w.heartbeatAgeSeconds > HEARTBEAT_LATE_S ? 'LATE' : 'LIVE';
    }

    function workerRow(w) {
      return el('tr', { data: { worker: String(w.id) } },
        el('td', { class: 'num' }, '#' + (positiveId(w.id) || '?')),
        el('td', { class: 'host', text: w.host }),
        el('td', { class: 'num pid', text: String(w.pid) }),
        el('td', { class: 'version', title: w.version ? null : 'not run from a release jar', text: w.version || '—' }),
        el('td', { class: 'num' }, timeCell(w.startedAt)),
        el('td', { class: 'num heartbeat' }, badge(stateOf(w)), ' ',
          el('span', { class: 'age' }),
          w.stoppedAt ? el('div', { class: 'muted small' }, 'stopped ', timeCell(w.stoppedAt)) : null),
        el('td', { class: 'num running' }, el('b', { class: 'n', text: number(w.running) }),
          el('span', { class: 'muted', text: ' of ' + number(w.concurrency) }),
          w.hostHold && !w.stoppedAt ? el('div', { class: 'muted small host-hold', title: 'the host is short of memory or busy: this worker starts nothing new',
            text: 'starts held: ' + w.hostHold }) : null),
        el('td', { class: 'types', text: Array.isArray(w.types) ? [...w.types].sort().join(', ') : '' }),
        el('td', { class: 'num metrics-port', text: w.metricsPort ? ':' + w.metricsPort : '—' }));
    }

    return { root, refresh };
  }

  // ---------------------------------------------------------------------------------------------
  // Schedules: recurring batches, with their next run and latest batches

  function schedulesView() {
    const rows = el('tbody');
    const empty = el('p', { class: 'empty', hidden: true,
      text: 'No schedules. Create one with POST /api/v1/schedules or: procq schedule create NAME --cron EXPR --type TYPE TARGET...' });
    const root = el('div', { class: 'schedules-view' }, tablePanel('Schedules',
      'Each tick of a schedule submits one batch; every api, worker and dev process runs them. Times are this browser\'s.',
      'schedules', ['Schedule', 'Cron', 'Submits', 'Next run', 'Overlap', 'Catch-up', 'State', 'Last batches'], rows, empty));
    crumbs();
    const cache = new Map();

    async function refresh() {
      const schedules = await api('/api/v1/schedules');
      const items = Array.isArray(schedules) ? schedules : [];
      keyed(rows, cache, items, (s) => s.id, (s) => JSON.stringify(s), scheduleRow);
      empty.hidden = items.length > 0;
    }

    function scheduleRow(s) {
      const batches = Array.isArray(s.lastBatches) ? s.lastBatches : [];
      return el('tr', { data: { schedule: String(s.id) } },
        el('td', { class: 'name' }, el('b', { text: s.name }), el('div', { class: 'muted small', text: '#' + (positiveId(s.id) || '?') })),
        el('td', { class: 'cron' }, el('code', { text: s.cron }), el('div', { class: 'muted small', text: s.timeZone })),
        el('td', { class: 'source' }, el('span', { text: s.type }), el('div', { class: 'muted small', text: s.source })),
        el('td', { class: 'num next-run' }, s.paused || !s.nextRunAt ? '—' : timeCell(s.nextRunAt),
          s.queuedTickAt ? el('div', { class: 'muted small' }, 'waiting: tick of ', timeCell(s.queuedTickAt)) : null),
        el('td', { class: 'overlap', text: s.overlap }),
        el('td', { class: 'catch-up', text: s.catchUp }),
        el('td', { class: 'state' }, badge(s.paused ? 'PAUSED' : 'ACTIVE'),
          s.lastError ? el('div', { class: 'error small', title: s.lastError, text: 'last tick failed: ' + s.lastError }) : null),
        el('td', { class: 'last-batches' }, batches.length === 0 ? el('span', { class: 'muted', text: 'none yet' }) : null,
          ...batches.map((b) => el('div', { class: 'scheduled-batch' },
            el('a', { href: '#/batches/' + (positiveId(b.id) || ''), text: '#' + (positiveId(b.id) || '?') }), ' ',
            badge(b.state), ' ', el('span', { class: 'muted small' }, timeCell(b.tickAt))))));
    }

    return { root, refresh };
  }

  // ---------------------------------------------------------------------------------------------

  function start() {
    $('token-form').addEventListener('submit', useToken);
    $('forget-token').addEventListener('click', forgetToken);
    $('forget-token').hidden = !storedToken();
    window.addEventListener('hashchange', route);
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
