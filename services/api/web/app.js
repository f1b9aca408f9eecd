import { ApiError, call, get, isLead, login, logout, restore, session } from './api.js';
import { barChart, histogram } from './charts.js';
import { append, clear, endpoint, fmtTime, h, toast } from './dom.js';

// The analyst console: one page, hash routes, plain ES modules (no build step).

const main = document.getElementById('main');
const PAGES = [
  ['alerts', 'Alerts'],
  ['hunt', 'Hunt'],
  ['cases', 'Cases'],
  ['dashboards', 'Dashboards'],
  ['federation', 'Federation'],
  ['models', 'Models'],
  ['deadletters', 'Dead letters'],
];
/** The status workflow, as the store enforces it (the server has the last word). */
const NEXT = {
  new: ['acknowledged', 'false_positive'],
  acknowledged: ['in_progress', 'false_positive'],
  in_progress: ['resolved', 'false_positive'],
  resolved: ['acknowledged'],
  false_positive: ['acknowledged'],
};
const LABEL = { new: 'New', acknowledged: 'Acknowledged', in_progress: 'In progress', resolved: 'Resolved', false_positive: 'False positive' };
const isClosed = (s) => s === 'resolved' || s === 'false_positive';
let cleanup = [];

// ------------------------------------------------------------------ theme and shell

function applyTheme(t) {
  document.documentElement.dataset.theme = t;
  localStorage.setItem('soc-theme', t);
}
applyTheme(localStorage.getItem('soc-theme') ?? (matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark'));
document.getElementById('theme').addEventListener('click', () => applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'));
document.getElementById('logout').addEventListener('click', async () => {
  await logout();
  location.hash = '#/login';
  route();
});

function shell() {
  const top = document.getElementById('top');
  top.hidden = false;
  const nav = clear(document.getElementById('nav'));
  const current = (location.hash.split('/')[1] || 'alerts').replace(/^(alert|case)$/, (m) => `${m}s`);
  PAGES.forEach(([id, name], i) => nav.append(h('a', { href: `#/${id}`, 'aria-current': current === id ? 'page' : undefined, title: `${name} (g then ${i + 1})` }, name)));
  clear(document.getElementById('who')).append(h('span', {}, `${session.user} · ${session.role}`));
}

function fail(err) {
  if (err instanceof ApiError && err.status === 401) {
    location.hash = '#/login';
    return route();
  }
  toast(err.message, 'error');
}

// ------------------------------------------------------------------ login

function loginPage() {
  document.getElementById('top').hidden = true;
  const msg = h('p', { class: 'error', role: 'alert' });
  const user = h('input', { id: 'login-user', name: 'user', autocomplete: 'username', required: true, value: 'admin' });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h(
    'form',
    { class: 'login card', onsubmit: async (e) => {
      e.preventDefault();
      try {
        await login(user.value, pass.value);
        location.hash = '#/alerts';
        route();
      } catch (err) {
        msg.textContent = err.message;
      }
    } },
    h('h1', {}, 'SOC console'),
    h('label', { for: 'login-user' }, 'User'),
    user,
    h('label', { for: 'login-password' }, 'Password'),
    pass,
    h('button', { type: 'submit', id: 'login-submit' }, 'Log in'),
    msg,
    h('p', { class: 'muted' }, 'The first admin password is in credentials.json in the data directory (the ready line says where).'),
  );
  clear(main).append(form);
  pass.focus();
}

// ------------------------------------------------------------------ query bar

function queryBar(initial, onRun, placeholder = 'severity >= high AND source.ip:10.0.0.0/8 AND @timestamp > now-24h') {
  const input = h('input', { id: 'q', type: 'search', value: initial, placeholder, 'aria-label': 'Query', spellcheck: 'false', autocomplete: 'off' });
  const err = h('div', { class: 'query-error', id: 'query-error', role: 'alert' });
  const form = h('form', { class: 'querybar', onsubmit: (e) => {
    e.preventDefault();
    onRun(input.value.trim());
  } }, input, h('button', { type: 'submit' }, 'Search'), h('a', { href: '#/help', class: 'help-link' }, 'Syntax'));
  return {
    node: h('div', {}, form, err),
    input,
    showError(e) {
      clear(err);
      if (!e) return;
      const pos = e.body && typeof e.body.position === 'number' ? e.body.position : null;
      if (pos === null) return err.append(e.message);
      const text = input.value;
      err.append(h('code', {}, text.slice(0, pos), h('mark', {}, text.slice(pos, pos + 1) || ' '), text.slice(pos + 1)), h('div', {}, e.body.reason ?? e.message));
    },
  };
}

// ------------------------------------------------------------------ alerts table

function severityBadge(sev) {
  return h('span', { class: `sev sev-${sev}` }, sev);
}

function alertRow(a, selected) {
  const box = h('input', { type: 'checkbox', 'aria-label': `Select alert ${a.rule.name}`, checked: selected.has(a.id), onchange: (e) => (e.target.checked ? selected.add(a.id) : selected.delete(a.id)) });
  return h(
    'tr',
    { dataset: { id: a.id }, tabindex: '0', class: 'alert-row' },
    h('td', {}, box),
    h('td', {}, fmtTime(a['@timestamp'])),
    h('td', {}, severityBadge(a.severity)),
    h('td', { class: 'rule' }, h('a', { href: `#/alert/${encodeURIComponent(a.id)}` }, a.rule.name || a.rule.id)),
    h('td', {}, endpoint(a.source)),
    h('td', {}, endpoint(a.destination)),
    h('td', {}, a.detector),
    h('td', {}, h('span', { class: `status st-${a.status}` }, LABEL[a.status] ?? a.status)),
    h('td', {}, a.assignee ?? ''),
    h('td', {}, a.count),
  );
}

function alertTable(alerts, selected) {
  const tbody = h('tbody', {}, alerts.map((a) => alertRow(a, selected)));
  const table = h(
    'table',
    { class: 'alerts' },
    h('thead', {}, h('tr', {}, ['', 'Time', 'Severity', 'Rule', 'Source', 'Destination', 'Detector', 'Status', 'Assignee', 'Count'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody,
  );
  // Keyboard: j/k move, Enter opens, x selects.
  table.addEventListener('keydown', (e) => {
    const row = e.target.closest('tr.alert-row');
    if (!row) return;
    if (e.key === 'j' || e.key === 'ArrowDown') (row.nextElementSibling ?? row).focus();
    else if (e.key === 'k' || e.key === 'ArrowUp') (row.previousElementSibling ?? row).focus();
    else if (e.key === 'Enter' && e.target === row) location.hash = `#/alert/${encodeURIComponent(row.dataset.id)}`;
    else if (e.key === 'x' && e.target === row) row.querySelector('input[type=checkbox]').click();
    else return;
    e.preventDefault();
  });
  return { table, tbody };
}

function bulkBar(selected, reload) {
  const act = async (change) => {
    if (selected.size === 0) return toast('Select alerts first (x or the checkboxes)');
    try {
      const r = await call('POST', '/v1/alerts/triage', { ids: [...selected], change });
      const bad = r.results.filter((x) => !x.ok);
      toast(bad.length ? `${r.results.length - bad.length} changed; ${bad.length} refused: ${bad[0].error}` : `${r.results.length} alerts changed`, bad.length ? 'error' : 'info');
      selected.clear();
      reload();
    } catch (err) {
      fail(err);
    }
  };
  const newCase = async () => {
    if (selected.size === 0) return toast('Select alerts first');
    const title = prompt('Case title', 'New incident');
    if (!title) return;
    try {
      const c = await call('POST', '/v1/cases', { title, alert_ids: [...selected] });
      selected.clear();
      location.hash = `#/case/${encodeURIComponent(c.id)}`;
    } catch (err) {
      fail(err);
    }
  };
  return h(
    'div',
    { class: 'bulk', role: 'toolbar', 'aria-label': 'Bulk triage' },
    h('span', { class: 'muted' }, 'Selected:'),
    h('button', { type: 'button', onclick: () => act({ status: 'acknowledged' }) }, 'Acknowledge'),
    h('button', { type: 'button', onclick: () => act({ status: 'in_progress' }) }, 'In progress'),
    h('button', { type: 'button', onclick: () => act({ status: 'resolved' }) }, 'Resolve'),
    h('button', { type: 'button', onclick: () => act({ status: 'false_positive' }) }, 'False positive'),
    h('button', { type: 'button', onclick: () => act({ assignee: session.user }) }, 'Assign to me'),
    h('button', { type: 'button', id: 'bulk-case', onclick: newCase }, 'Create case'),
  );
}

async function alertsPage(params) {
  const q = params.get('q') ?? '';
  const selected = new Set();
  const bar = queryBar(q, (text) => (location.hash = `#/alerts?${new URLSearchParams({ q: text })}`));
  const live = h('span', { class: 'live', id: 'live' }, 'connecting…');
  const total = h('span', { class: 'muted', id: 'total' });
  const area = h('div', { id: 'alerts-area' });
  const reload = () => route();
  clear(main).append(h('h1', {}, 'Alerts ', live), bar.node, bulkBar(selected, reload), total, area);
  let tbody;
  try {
    const r = await get('/v1/alerts', { q, limit: 100, sort: '@timestamp', order: 'desc' });
    const t = alertTable(r.alerts, selected);
    tbody = t.tbody;
    area.append(t.table);
    total.textContent = `${r.total} alerts match`;
  } catch (err) {
    bar.showError(err);
    if (!(err instanceof ApiError && err.status === 400)) fail(err);
    live.textContent = '';
    return;
  }
  const es = new EventSource(`/v1/alerts/stream?${new URLSearchParams({ q })}`);
  es.addEventListener('open', () => (live.textContent = '● live'));
  es.addEventListener('error', () => (live.textContent = '○ reconnecting'));
  es.addEventListener('alert', (ev) => {
    const a = JSON.parse(ev.data);
    tbody.querySelector(`tr[data-id="${CSS.escape(a.id)}"]`)?.remove();
    const row = alertRow(a, selected);
    row.classList.add('fresh');
    tbody.prepend(row);
  });
  cleanup.push(() => es.close());
}

// ------------------------------------------------------------------ alert detail

function explain(a) {
  const parts = [];
  const who = a.detector === 'suricata' ? 'The Suricata sensor' : a.detector === 'anomaly' ? 'The anomaly model' : `Detector “${a.detector}”`;
  parts.push(`${who} raised “${a.rule.name || a.rule.id}”`);
  if (a.source?.ip || a.destination?.ip) parts.push(` for traffic from ${endpoint(a.source)} to ${endpoint(a.destination)}${a.network?.transport ? ` over ${a.network.transport}` : ''}`);
  parts.push(a.count > 1 ? `, ${a.count} times between ${fmtTime(a.first_seen)} and ${fmtTime(a.last_seen)}.` : ` at ${fmtTime(a['@timestamp'])}.`);
  parts.push(` It is rated ${a.severity} (score ${a.score.toFixed(2)} of 1).`);
  if (a.origin && a.federation) parts.push(` It was reported by partner SOC ${a.origin.name ?? a.origin.soc}${a.origin.country ? ` (${a.origin.country})` : ''}.`);
  return parts.join('');
}

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function timeline(entries) {
  if (!entries.length) return h('p', { class: 'muted' }, 'No triage yet.');
  return h(
    'ol',
    { class: 'timeline', id: 'timeline' },
    entries.map((e) =>
      h(
        'li',
        {},
        h('time', { datetime: e.at }, fmtTime(e.at)),
        ' ',
        h('strong', {}, e.actor),
        ' ',
        e.action === 'comment' || e.action === 'case_note'
          ? ['commented: ', h('q', {}, e.text)]
          : e.action === 'status'
            ? `changed status ${LABEL[e.from] ?? e.from} → ${LABEL[e.to] ?? e.to}`
            : e.action === 'assign'
              ? e.to ? `assigned to ${e.to}` : 'unassigned'
              : `${e.action.replace('case_', '')} ${e.from ?? ''}${e.from && e.to ? ' → ' : ''}${e.to ?? ''}`,
      ),
    ),
  );
}

async function alertPage(id) {
  clear(main).append(h('p', { class: 'muted' }, 'Loading…'));
  let a, audit;
  try {
    [a, audit] = await Promise.all([get(`/v1/alerts/${encodeURIComponent(id)}`), get(`/v1/alerts/${encodeURIComponent(id)}/audit`)]);
  } catch (err) {
    return fail(err);
  }
  const triage = async (change) => {
    try {
      await call('PATCH', `/v1/alerts/${encodeURIComponent(id)}`, change);
      toast('Saved');
      alertPage(id);
    } catch (err) {
      fail(err);
    }
  };
  const statusButtons = (NEXT[a.status] ?? []).flatMap((s) => {
    if (isClosed(a.status) && !isLead()) return [];
    return [h('button', { type: 'button', class: 'status-btn', dataset: { status: s }, onclick: () => triage({ status: s }) }, isClosed(a.status) ? 'Reopen' : LABEL[s])];
  });
  const leadNote = isClosed(a.status) && !isLead() ? h('p', { class: 'muted', id: 'lead-only' }, 'Closed. Only a lead may reopen it.') : null;
  const assignInput = h('input', { id: 'assignee', value: a.assignee ?? '', 'aria-label': 'Assignee', readonly: !isLead(), placeholder: 'user name' });
  const comment = h('textarea', { id: 'comment', rows: 3, 'aria-label': 'Comment', placeholder: 'What did you find?' });
  const mine = !a.assignee || a.assignee === session.user;
  const features = a.explanation.features ?? [];
  const values = Object.entries(a.explanation.values ?? {});
  const related = h('div', { id: 'related' }, h('p', { class: 'muted' }, 'Looking for related alerts…'));
  const relatedEvents = h('div', { id: 'related-events' }, h('p', { class: 'muted' }, a.related_events.length ? 'Looking for the events in the log…' : 'None recorded.'));
  clear(main).append(
    h('p', {}, h('a', { href: '#/alerts' }, '← Alerts')),
    h('h1', { id: 'alert-title' }, severityBadge(a.severity), ' ', a.rule.name || a.rule.id),
    h('p', { class: 'explain', id: 'explanation' }, explain(a)),
    a.explanation.summary ? h('p', { class: 'summary' }, a.explanation.summary) : null,
    h(
      'div',
      { class: 'grid' },
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Details'),
        kv([
          ['Message', a.message],
          ['Status', LABEL[a.status]],
          ['Assignee', a.assignee ?? '—'],
          ['Rule', `${a.rule.id}${a.rule.category ? ` · ${a.rule.category}` : ''}`],
          ['Detector', a.detector],
          ['Score', a.score.toFixed(3)],
          ['Source', endpoint(a.source)],
          ['Destination', endpoint(a.destination)],
          ['Host', a.host?.name],
          ['Protocol', [a.network?.transport, a.network?.protocol].filter(Boolean).join(' / ')],
          ['First seen', fmtTime(a.first_seen)],
          ['Last seen', fmtTime(a.last_seen)],
          ['Origin', `${a.origin.soc}${a.origin.country ? ` (${a.origin.country})` : ''}`],
          ['TLP', `TLP:${a.tlp}`],
          ['Id', a.id],
        ]),
      ),
      h(
        'section',
        { class: 'card', 'aria-label': 'Triage' },
        h('h2', {}, 'Triage'),
        h('div', { class: 'buttons', id: 'status-buttons' }, statusButtons),
        leadNote,
        h('label', { for: 'assignee' }, 'Assignee'),
        h(
          'div',
          { class: 'row' },
          assignInput,
          isLead()
            ? h('button', {
                type: 'button',
                id: 'assign',
                onclick: () => {
                  const to = assignInput.value.trim() || null;
                  // Unchanged: no request and no re-render, which would also wipe what the user is typing.
                  if (to !== (a.assignee ?? null)) triage({ assignee: to });
                },
              }, 'Assign')
            : null,
          mine && a.assignee !== session.user ? h('button', { type: 'button', id: 'assign-me', onclick: () => triage({ assignee: session.user }) }, 'Assign to me') : null,
          mine && a.assignee === session.user ? h('button', { type: 'button', onclick: () => triage({ assignee: null }) }, 'Unassign') : null,
        ),
        !mine && !isLead() ? h('p', { class: 'muted', id: 'assign-lead-only' }, `Assigned to ${a.assignee}; only a lead may reassign.`) : null,
        h('label', { for: 'comment' }, 'Comment'),
        comment,
        h('button', { type: 'button', id: 'add-comment', onclick: () => comment.value.trim() && triage({ comment: comment.value.trim() }) }, 'Add comment'),
      ),
    ),
    features.length
      ? h(
          'section',
          { class: 'card' },
          h('h2', {}, 'Contributing features'),
          h('table', { class: 'features' }, h('thead', {}, h('tr', {}, h('th', {}, 'Feature'), h('th', {}, 'Value'), h('th', {}, 'Contribution'))),
            h('tbody', {}, features.map((f) => h('tr', {}, h('td', {}, f.name), h('td', {}, String(f.value)), h('td', {}, h('meter', { min: 0, max: 1, value: Math.min(1, Math.max(0, f.contribution)) }), ` ${(f.contribution * 100).toFixed(1)}%`))))),
        )
      : null,
    values.length ? h('section', { class: 'card' }, h('h2', {}, 'Values'), kv(values.map(([k, v]) => [k, String(v)]))) : null,
    a.links?.length
      ? h('section', { class: 'card', id: 'partner-links' }, h('h2', {}, 'Linked alerts'), h('ul', {}, a.links.map((l) => h('li', {}, `${l.type}: `, h('a', { href: `#/alert/${encodeURIComponent(l.alert_id)}` }, l.alert_id), l.origin ? ` (from ${l.origin})` : ''))))
      : null,
    h('section', { class: 'card' }, h('h2', {}, 'Related events'), relatedEvents, related),
    h('section', { class: 'card' }, h('h2', {}, 'Timeline'), timeline(audit.entries)),
  );
  if (a.related_events.length) {
    const ids = a.related_events.slice(0, 100);
    try {
      const r = await get('/v1/hunt/events', { ids: ids.join(','), limit: 100 });
      const found = new Set(r.events.map((e) => e.event?.id));
      const gone = ids.filter((id) => !found.has(id));
      clear(relatedEvents).append(
        h('p', { class: 'muted' }, `${found.size} of ${a.related_events.length} events found in the log${r.partial ? ` (the newest ${r.scanned} events were searched)` : ''}.`),
        r.events.length ? eventTable(r.events) : null,
        gone.length ? h('details', {}, h('summary', {}, `${gone.length} not in the log any more (retention) or not yet scanned`), h('ul', { class: 'mono' }, gone.map((e) => h('li', {}, e)))) : null,
      );
    } catch {
      clear(relatedEvents).append(h('ul', { class: 'mono' }, ids.map((e) => h('li', {}, e))));
    }
  }
  const ips = [a.source?.ip, a.destination?.ip].filter(Boolean);
  if (ips.length) {
    const q = `(${ips.map((ip) => `ip:${ip}`).join(' OR ')}) AND NOT id:"${a.id}"`;
    try {
      const r = await get('/v1/alerts', { q, limit: 20 });
      clear(related).append(h('h3', {}, `Other alerts with these addresses (${r.total})`), h('ul', {}, r.alerts.map((x) => h('li', {}, h('a', { href: `#/alert/${encodeURIComponent(x.id)}` }, x.rule.name), ` · ${fmtTime(x['@timestamp'])} · ${x.status}`))), h('a', { href: `#/hunt?${new URLSearchParams({ q })}` }, 'Open in hunt'));
    } catch {
      clear(related);
    }
  } else clear(related);
}

// ------------------------------------------------------------------ raw events

/** What an event is about, in one line: the sensor's message, a signature, a DNS question, a TLS name, a URL. */
function eventSummary(e) {
  return e.message ?? e.rule?.name ?? (e.dns?.question?.name && `${e.dns.question.name}${e.dns.response_code ? ` → ${e.dns.response_code}` : ''}`) ?? e.tls?.client?.server_name ?? e.url?.original ?? e.url?.domain ?? e.event?.action ?? '';
}

function eventTable(events) {
  return h(
    'table',
    { class: 'events', id: 'event-table' },
    h('thead', {}, h('tr', {}, ['Time', 'Dataset', 'Source', 'Destination', 'Transport', 'Summary'].map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      {},
      events.map((e) =>
        h(
          'tr',
          { class: 'event-row', dataset: { id: e.event?.id ?? '' } },
          h('td', {}, fmtTime(e['@timestamp'])),
          h('td', {}, e.event?.dataset ?? ''),
          h('td', {}, endpoint(e.source)),
          h('td', {}, endpoint(e.destination)),
          h('td', {}, [e.network?.transport, e.network?.protocol].filter(Boolean).join('/')),
          // The whole ECS document on demand, as text.
          h('td', {}, h('details', {}, h('summary', {}, eventSummary(e) || e.event?.id || 'event'), h('pre', { class: 'mono' }, JSON.stringify(e, null, 2)))),
        ),
      ),
    ),
  );
}

/** Says which part of the log a hunt covered, so that no hit is not read as "never happened". */
function coverage(r) {
  const span = r.oldest ? ` from ${fmtTime(r.oldest)} to ${fmtTime(r.newest)}` : '';
  return `${r.matched} of ${r.scanned} events scanned${span}${r.partial ? ' (the newest only: older events were not scanned)' : ''}.`;
}

// ------------------------------------------------------------------ hunt

async function huntPage(params) {
  const q = params.get('q') ?? '';
  const interval = params.get('interval') ?? '1h';
  const over = params.get('over') === 'events' ? 'events' : 'alerts';
  const go = (o) => (location.hash = `#/hunt?${new URLSearchParams({ q, interval, over, ...o })}`);
  const bar = queryBar(q, (text) => go({ q: text }), over === 'events' ? 'dns.question.name:*.example AND source.ip:10.0.0.0/8' : undefined);
  const chart = h('div', {});
  const results = h('div', {});
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const sel = h('select', { 'aria-label': 'Histogram interval', onchange: (e) => go({ interval: e.target.value }) }, ['1m', '5m', '1h', '1d'].map((i) => h('option', { value: i, selected: i === interval }, i)));
  const overSel = h('select', { id: 'hunt-over', 'aria-label': 'Hunt over', onchange: (e) => go({ over: e.target.value }) }, [['alerts', 'Alerts'], ['events', 'Raw events']].map(([v, l]) => h('option', { value: v, selected: v === over }, l)));
  const note = over === 'events' ? 'The query runs over the newest raw events on the bus (ECS fields: see Syntax).' : 'The query runs over alerts.';
  clear(main).append(h('h1', {}, 'Hunt'), h('p', { class: 'muted' }, note), bar.node, h('div', { class: 'row' }, h('label', {}, 'Over ', overSel), h('label', {}, 'Interval ', sel)), chart, results, more);
  if (over === 'events') {
    try {
      const r = await get('/v1/hunt/events', { q, interval, limit: 200 });
      chart.append(histogram(`${r.matched} events over time (${interval})`, r.over_time));
      results.append(h('p', { class: 'muted', id: 'hunt-coverage' }, coverage(r)), eventTable(r.events));
    } catch (err) {
      bar.showError(err);
      if (!(err instanceof ApiError && err.status === 400)) fail(err);
    }
    return;
  }
  try {
    const [aggs, page] = await Promise.all([get('/v1/alerts/aggregations', { q, interval, size: 10 }), get('/v1/alerts', { q, limit: 100 })]);
    chart.append(histogram(`${aggs.total} alerts over time (${interval})`, aggs.over_time));
    const selected = new Set();
    const t = alertTable(page.alerts, selected);
    results.append(t.table);
    let cursor = page.next_cursor;
    more.hidden = !cursor;
    more.onclick = async () => {
      const next = await get('/v1/alerts', { q, limit: 100, cursor });
      next.alerts.forEach((a) => t.tbody.append(alertRow(a, selected)));
      cursor = next.next_cursor;
      more.hidden = !cursor;
    };
  } catch (err) {
    bar.showError(err);
    if (!(err instanceof ApiError && err.status === 400)) fail(err);
  }
}

// ------------------------------------------------------------------ cases

async function casesPage() {
  const title = h('input', { id: 'case-title', required: true, 'aria-label': 'Title', placeholder: 'Title' });
  const sev = h('select', { 'aria-label': 'Severity' }, ['low', 'medium', 'high', 'critical'].map((s) => h('option', { value: s, selected: s === 'medium' }, s)));
  const tlp = h('select', { 'aria-label': 'TLP' }, ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'].map((s) => h('option', { value: s, selected: s === 'AMBER' }, `TLP:${s}`)));
  const form = h('form', { class: 'row card', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const c = await call('POST', '/v1/cases', { title: title.value, severity: sev.value, tlp: tlp.value });
      location.hash = `#/case/${encodeURIComponent(c.id)}`;
    } catch (err) {
      fail(err);
    }
  } }, title, sev, tlp, h('button', { type: 'submit' }, 'New case'));
  clear(main).append(h('h1', {}, 'Cases'), form);
  try {
    const { cases } = await get('/v1/cases', { limit: 200 });
    main.append(
      h('table', { class: 'cases' },
        h('thead', {}, h('tr', {}, ['Title', 'Severity', 'TLP', 'Status', 'Assignee', 'Alerts', 'Updated'].map((c) => h('th', {}, c)))),
        h('tbody', {}, cases.map((c) => h('tr', {}, h('td', {}, h('a', { href: `#/case/${encodeURIComponent(c.id)}` }, c.title)), h('td', {}, severityBadge(c.severity)), h('td', {}, `TLP:${c.tlp}`), h('td', {}, c.status), h('td', {}, c.assignee ?? ''), h('td', {}, c.alert_ids.length), h('td', {}, fmtTime(c.updated_at)))))),
    );
  } catch (err) {
    fail(err);
  }
}

async function casePage(id) {
  let c;
  try {
    c = await get(`/v1/cases/${encodeURIComponent(id)}`);
  } catch (err) {
    return fail(err);
  }
  const patch = async (p) => {
    try {
      await call('PATCH', `/v1/cases/${encodeURIComponent(id)}`, p);
      casePage(id);
    } catch (err) {
      fail(err);
    }
  };
  const note = h('textarea', { id: 'case-note', rows: 3, 'aria-label': 'Note' });
  const statuses = ['open', 'in_progress', 'closed'].filter((s) => s !== c.status && (isLead() || (s !== 'closed' && c.status !== 'closed')));
  clear(main).append(
    h('p', {}, h('a', { href: '#/cases' }, '← Cases')),
    h('h1', { id: 'case-title-h' }, severityBadge(c.severity), ' ', c.title),
    kv([['Status', c.status], ['TLP', `TLP:${c.tlp}`], ['Assignee', c.assignee ?? '—'], ['Created', `${fmtTime(c.created_at)} by ${c.created_by}`], ['Updated', fmtTime(c.updated_at)]]),
    h('div', { class: 'buttons' },
      statuses.map((s) => h('button', { type: 'button', onclick: () => patch({ status: s }) }, `Mark ${s.replace('_', ' ')}`)),
      c.assignee !== session.user ? h('button', { type: 'button', onclick: () => patch({ assignee: session.user }) }, 'Assign to me') : null,
      !isLead() ? h('span', { class: 'muted' }, 'Only a lead may close a case.') : null),
    h('section', { class: 'card' }, h('h2', {}, `Linked alerts (${c.alerts.length})`),
      h('table', { class: 'alerts', id: 'case-alerts' }, h('tbody', {}, c.alerts.map((a) => h('tr', {}, h('td', {}, severityBadge(a.severity)), h('td', {}, h('a', { href: `#/alert/${encodeURIComponent(a.id)}` }, a.rule.name)), h('td', {}, endpoint(a.source)), h('td', {}, endpoint(a.destination)), h('td', {}, LABEL[a.status]), h('td', {}, h('button', { type: 'button', onclick: () => patch({ remove_alerts: [a.id] }) }, 'Unlink'))))))),
    h('section', { class: 'card' }, h('h2', {}, 'Notes'), h('ul', {}, c.notes.map((n) => h('li', {}, h('strong', {}, n.author), ` ${fmtTime(n.at)}: `, n.text))), note, h('button', { type: 'button', id: 'add-note', onclick: () => note.value.trim() && patch({ note: note.value.trim() }) }, 'Add note')),
    h('section', { class: 'card' }, h('h2', {}, 'Timeline'), timeline(c.timeline)),
  );
}

// ------------------------------------------------------------------ dashboards, federation, models, dead letters

async function dashboardsPage(params) {
  const q = params.get('q') ?? '@timestamp > now-30d';
  const bar = queryBar(q, (text) => (location.hash = `#/dashboards?${new URLSearchParams({ q: text })}`));
  clear(main).append(h('h1', {}, 'Dashboards'), bar.node);
  try {
    const a = await get('/v1/alerts/aggregations', { q, interval: '1h', size: 10 });
    main.append(
      h('p', { class: 'muted' }, `${a.total} alerts`),
      histogram('Alerts over time (hourly)', a.over_time),
      h('div', { class: 'grid' },
        barChart('By severity', a.by_severity, { classOf: (b) => `sev-${b.key}`, labelWidth: 120 }),
        barChart('By detector', a.by_detector, { labelWidth: 120 }),
        barChart('Top rules', a.by_rule, { labelWidth: 240 }),
        barChart('Top hosts', a.by_host),
        barChart('Top sources', a.by_source),
        barChart('Top destinations', a.by_destination)),
    );
  } catch (err) {
    bar.showError(err);
    if (!(err instanceof ApiError && err.status === 400)) fail(err);
  }
}

async function federationPage() {
  clear(main).append(h('h1', {}, 'Federation'));
  try {
    const f = await get('/v1/federation');
    const trust = Array.isArray(f.trust?.partners) ? f.trust.partners : [];
    main.append(
      h('section', { class: 'card' }, h('h2', {}, `Partner alerts (${f.partner_total})`), alertTable(f.partner_alerts, new Set()).table),
      h('section', { class: 'card' }, h('h2', {}, `Quarantine (${f.quarantine.length})`),
        f.quarantine.length ? h('table', {}, h('thead', {}, h('tr', {}, ['Time', 'From', 'Reason'].map((c) => h('th', {}, c)))), h('tbody', {}, f.quarantine.map((d) => h('tr', {}, h('td', {}, fmtTime(d['@timestamp'])), h('td', {}, d.source), h('td', {}, d.reason))))) : h('p', { class: 'muted' }, 'Nothing quarantined.')),
      h('section', { class: 'card' }, h('h2', {}, 'Trust list'),
        f.trust === null ? h('p', { class: 'muted' }, 'Federation is not configured on this SOC.') : h('table', {}, h('thead', {}, h('tr', {}, ['SOC', 'Country', 'Name', 'Key id', 'Relays'].map((c) => h('th', {}, c)))), h('tbody', {}, trust.map((p) => h('tr', {}, h('td', {}, p.id), h('td', {}, p.country ?? ''), h('td', {}, p.name ?? ''), h('td', { class: 'mono' }, p.key_id), h('td', {}, p.relays ? 'yes' : 'no')))))),
    );
  } catch (err) {
    fail(err);
  }
}

async function modelsPage() {
  clear(main).append(h('h1', {}, 'Models'));
  try {
    const { models } = await get('/v1/models');
    main.append(
      models.length === 0 ? h('p', { class: 'muted' }, 'No site model fitted yet: the shipped NSL-KDD model is active (pnpm soc model fit conn.log).') : null,
      h('table', {}, h('thead', {}, h('tr', {}, ['Version', 'Active', 'Created', 'Metrics'].map((c) => h('th', {}, c)))),
        h('tbody', {}, models.map((m) => h('tr', {}, h('td', { class: 'mono' }, m.version), h('td', {}, m.active ? 'active' : ''), h('td', {}, fmtTime(m.createdAt)), h('td', { class: 'mono' }, JSON.stringify(m.metrics ?? {}).slice(0, 400)))))),
      isLead()
        ? h('button', { type: 'button', id: 'rollback', onclick: async () => {
            try {
              const r = await call('POST', '/v1/models/rollback', {});
              toast(`Active: ${JSON.stringify(r.active)}`);
              modelsPage();
            } catch (err) {
              fail(err);
            }
          } }, 'Roll back to the previous version')
        : h('p', { class: 'muted' }, 'Only a lead may roll back a model.'),
    );
  } catch (err) {
    fail(err);
  }
}

async function deadLettersPage() {
  clear(main).append(h('h1', {}, 'Dead letters'));
  try {
    const { items } = await get('/v1/deadletters', { limit: 200 });
    main.append(
      h('table', { class: 'deadletters' }, h('thead', {}, h('tr', {}, ['Time', 'Stage', 'Source', 'Reason', 'Raw input'].map((c) => h('th', {}, c)))),
        h('tbody', {}, items.map((d) => h('tr', {}, h('td', {}, fmtTime(d['@timestamp'])), h('td', {}, d.stage), h('td', {}, d.source), h('td', {}, d.reason), h('td', { class: 'mono raw' }, String(d.raw ?? '').slice(0, 300)))))),
    );
  } catch (err) {
    fail(err);
  }
}

function helpPage() {
  const rows = [
    ['ssh', 'free text: the word in message, rule name or explanation'],
    ['"port scan"', 'a phrase'],
    ['exfil*', 'a word prefix'],
    ['scan -ssh, scan AND NOT ssh', 'exclude'],
    ['ssh OR mssql, (a OR b) c', 'alternatives and grouping (AND binds tighter than OR)'],
    ['severity:high, severity >= high', 'severity, ordered low < medium < high < critical'],
    ['score >= 0.8, destination.port:22', 'numbers'],
    ['source.ip:10.0.0.0/8, ip:2001:db8::1', 'an address or a CIDR range (ip = source or destination)'],
    ['@timestamp > now-1h, last_seen < 2024-03-01', 'relative (s m h d w) and absolute times'],
    ['host.name:web-*, rule.id:2001219', 'keywords, exact or with * and ? wildcards'],
    ['detector:(suricata OR anomaly)', 'several values for one field'],
  ];
  clear(main).append(
    h('h1', {}, 'Query language'),
    h('table', {}, h('tbody', {}, rows.map(([q, d]) => h('tr', {}, h('td', {}, h('code', {}, q)), h('td', {}, d))))),
    h('p', {}, 'Fields: message, rule.name, explanation.summary (text); id, detector, rule.id, rule.category, status, tlp, assignee, origin.soc, host.name, network.transport, network.protocol (keywords); severity; source.ip, destination.ip, ip; score, count, source.port, destination.port; @timestamp, first_seen, last_seen.'),
    h('p', {}, 'Hunting over raw events (Hunt, over: Raw events) uses ECS event fields: message, rule.name (text); event.id, event.kind, event.category, event.type, event.dataset, event.module, event.action, event.outcome, observer.name, observer.type, host.name, user.name, rule.id, network.transport, network.protocol, network.direction, network.community_id, dns.question.name, dns.response_code, tls.client.server_name, tls.client.ja3, url.domain, url.original, http.request.method, user_agent.original, file.hash.sha256, related.hosts (keywords); source.ip, destination.ip, ip; source.port, destination.port, source.bytes, destination.bytes, event.severity, event.duration, http.response.status_code; @timestamp.'));
}

// ------------------------------------------------------------------ router and keys

async function route() {
  for (const f of cleanup) f();
  cleanup = [];
  const [path, qs] = location.hash.replace(/^#/, '').split('?');
  const parts = (path || '/alerts').split('/').filter(Boolean);
  const params = new URLSearchParams(qs ?? '');
  if (parts[0] === 'login' || !session.user) {
    if (parts[0] !== 'login' && (await restore())) return route();
    return loginPage();
  }
  shell();
  const id = parts[1] ? decodeURIComponent(parts[1]) : '';
  const page = { alerts: alertsPage, alert: () => alertPage(id), hunt: huntPage, cases: casesPage, case: () => casePage(id), dashboards: dashboardsPage, federation: federationPage, models: modelsPage, deadletters: deadLettersPage, help: helpPage }[parts[0]] ?? alertsPage;
  await page(params);
  main.focus({ preventScroll: true });
}

let pendingG = false;
document.addEventListener('keydown', (e) => {
  if (e.target.closest('input, textarea, select') || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === '/') {
    const q = document.getElementById('q');
    if (q) {
      e.preventDefault();
      q.focus();
    }
  } else if (e.key === 't') applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark');
  else if (e.key === 'g') pendingG = true;
  else if (pendingG && /^[1-7]$/.test(e.key)) {
    location.hash = `#/${PAGES[Number(e.key) - 1][0]}`;
    pendingG = false;
  } else pendingG = false;
});
window.addEventListener('hashchange', route);
route();
