// Estuary console: the list views. Each view(main) builds its page once and returns
// {refresh, interval}: refresh() fetches from the API and updates the page (throws ApiError).
import {del, get} from './api.js';
import {bytes, duration, el, kbps, table} from './util.js';

// Frames counted between two refreshes of the streams table give each stream's frame rate.
const lastFrames = new Map();  // stream id -> {t, frames}

function fpsOf(s) {
  const now = performance.now();
  const prev = lastFrames.get(s.id);
  lastFrames.set(s.id, {t: now, frames: s.video_frames || 0});
  if (!prev || now <= prev.t || (s.video_frames || 0) < prev.frames) return '';
  return ((s.video_frames - prev.frames) * 1000 / (now - prev.t)).toFixed(1);
}

function viewersByProtocol(clients) {
  const by = new Map();  // stream id -> {type: count}
  for (const c of clients) {
    if (c.publish) continue;
    const m = by.get(c.stream) || {};
    const proto = c.type.replace(/-play$/, '');
    m[proto] = (m[proto] || 0) + 1;
    by.set(c.stream, m);
  }
  return by;
}

function health(s) {
  if (!s.publish || !s.publish.active) return el('span', {class: 'bad'}, 'no publisher');
  const h = s.health;
  if (!h) return el('span', {class: 'ok'}, 'live');
  const bad = ['black', 'frozen', 'silent', 'drift'].filter((k) => h[k]);
  return bad.length ? el('span', {class: 'bad'}, bad.join(', ')) : el('span', {class: 'ok'}, 'healthy');
}

export function codecs(s) {
  const v = s.video ? `${s.video.codec} ${s.video.width}x${s.video.height}` : 'no video';
  const a = s.audio ? `${s.audio.codec} ${s.audio.sample_rate / 1000} kHz` : 'no audio';
  return `${v}, ${a}`;
}

export async function kick(id) {
  await del(`/api/v1/clients/${encodeURIComponent(id)}`);
}

export function overviewView(main) {
  const cards = el('div', {class: 'cards'});
  main.replaceChildren(el('h2', {}, 'Overview'), cards);
  return {
    interval: 2000,
    async refresh() {
      const [sum, streams, clients, ver] = await Promise.all([
        get('/api/v1/summaries'), get('/api/v1/streams', {count: 1000}), get('/api/v1/clients', {count: 1000}),
        get('/api/v1/versions')]);
      const self = sum.data.self, sys = sum.data.system;
      const recv = streams.streams.reduce((n, s) => n + s.kbps.recv_30s, 0);
      const send = streams.streams.reduce((n, s) => n + s.kbps.send_30s, 0);
      const card = (name, value, id) => el('div', {class: 'card', id}, el('span', {}, name), el('b', {}, value));
      cards.replaceChildren(
        card('Version', ver.data.version, 'ov-version'),
        card('Uptime', duration(self.srs_uptime), 'ov-uptime'),
        card('CPU (server)', `${(self.cpu_percent * 100).toFixed(1)} %`, 'ov-cpu'),
        card('CPU (host)', `${Number(sys.cpu_percent).toFixed(1)} % of ${sys.cpus}`, 'ov-host-cpu'),
        card('Memory', bytes(self.mem_kbyte * 1024), 'ov-mem'),
        card('Streams', streams.total ?? streams.streams.length, 'ov-streams'),
        card('Connections', clients.total ?? clients.clients.length, 'ov-clients'),
        card('Bandwidth in', kbps(recv), 'ov-in'),
        card('Bandwidth out', kbps(send), 'ov-out'));
    },
  };
}

export function streamsView(main) {
  const holder = el('div');
  main.replaceChildren(el('h2', {}, 'Streams'), holder);
  return {
    interval: 1000,
    async refresh() {
      const [streams, clients] = await Promise.all([get('/api/v1/streams', {count: 1000}),
                                                   get('/api/v1/clients', {count: 1000})]);
      const viewers = viewersByProtocol(clients.clients);
      const rows = streams.streams.map((s) => {
        const v = viewers.get(s.id) || {};
        const perProto = Object.entries(v).map(([k, n]) => `${k} ${n}`).join(', ') || '0';
        const rec = s.dvr ? (s.dvr.recording ? el('span', {class: 'rec'}, '● rec') : 'stopped') : '';
        return el('tr', {dataset: {stream: `${s.app}/${s.name}`, id: s.id}},
          el('td', {}, el('a', {href: `#/streams/${encodeURIComponent(s.id)}`}, `${s.app}/${s.name}`)),
          el('td', {}, codecs(s)), el('td', {class: 'num'}, fpsOf(s)),
          el('td', {class: 'num'}, kbps(s.kbps.recv_30s)), el('td', {class: 'num'}, kbps(s.kbps.send_30s)),
          el('td', {}, perProto), el('td', {}, health(s)), el('td', {}, rec),
          el('td', {class: 'num'}, duration((Date.now() - s.live_ms) / 1000)));
      });
      holder.replaceChildren(table(['Stream', 'Codecs', 'fps', 'In', 'Out', 'Viewers', 'Health', 'DVR', 'Live'],
                                   rows, 'No stream is published.'));
    },
  };
}

// A WebRTC client's link (shared engine): RTT from receiver reports, loss, NACKs, resends, PLI/FIR.
function rtcLink(r) {
  const rtt = r.rtt_ms >= 0 ? `rtt ${r.rtt_ms.toFixed(1)} ms` : 'rtt –';
  return `${rtt}, lost ${r.pkt_lost} (${(r.fraction_lost * 100).toFixed(1)} %), nacks ${r.nacks}, ` +
         `retrans ${r.pkt_retrans}, pli ${r.plis}, fir ${r.firs}`;
}

export function clientRows(clients, streamsById, onKicked) {
  return clients.map((c) => {
    const s = streamsById.get(c.stream);
    const link = c.srt ? `rtt ${c.srt.rtt_ms.toFixed(1)} ms, lost ${c.srt.pkt_lost}, retrans ${c.srt.pkt_retrans}, ` +
                         `${c.srt.bandwidth_mbps.toFixed(1)} Mb/s est.` : c.rtc ? rtcLink(c.rtc) : '';
    const button = el('button', {class: 'kick', type: 'button', dataset: {id: c.id}}, 'Kick');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await kick(c.id);
        if (onKicked) onKicked(c.id);
      } catch (e) {
        button.disabled = false;
        button.textContent = `Kick (${e.message})`;
      }
    });
    return el('tr', {dataset: {id: c.id, type: c.type}},
      el('td', {}, c.id), el('td', {}, c.type), el('td', {}, c.ip),
      el('td', {}, s ? el('a', {href: `#/streams/${encodeURIComponent(s.id)}`}, `${s.app}/${s.name}`) : c.stream),
      el('td', {class: 'num'}, bytes(c.send_bytes)), el('td', {class: 'num'}, bytes(c.recv_bytes)),
      el('td', {class: 'num'}, `${kbps(c.kbps.recv_30s)} / ${kbps(c.kbps.send_30s)}`),
      el('td', {class: 'num'}, duration(c.alive)), el('td', {}, link), el('td', {}, button));
  });
}

export const clientHeaders = ['Id', 'Type', 'Address', 'Stream', 'Sent', 'Received', 'In / out', 'Alive', 'Link',
                              ''];

export function clientsView(main) {
  const holder = el('div');
  main.replaceChildren(el('h2', {}, 'Clients'), holder);
  const view = {
    interval: 2000,
    async refresh() {
      const [streams, clients] = await Promise.all([get('/api/v1/streams', {count: 1000}),
                                                   get('/api/v1/clients', {count: 1000})]);
      const byId = new Map(streams.streams.map((s) => [s.id, s]));
      holder.replaceChildren(table(clientHeaders, clientRows(clients.clients, byId, () => view.refresh()),
                                   'No client is connected.'));
    },
  };
  return view;
}

function simpleList(main, title, path, member, headers, row, empty) {
  const holder = el('div');
  main.replaceChildren(el('h2', {}, title), holder);
  return {
    interval: 3000,
    async refresh() {
      const body = await get(path);
      holder.replaceChildren(table(headers, (body[member] || []).map((x) => el('tr', {}, row(x).map(
        (c) => el('td', {}, c)))), empty));
    },
  };
}

export function sourcesView(main) {
  return simpleList(main, 'Pulled sources', '/api/v1/sources', 'sources',
    ['Name', 'Stream', 'URL', 'Kind', 'Mode', 'State', 'Restarts', 'Received', 'Viewers', 'Last error'],
    (s) => [s.name, s.stream, s.url, s.kind, s.mode, s.state, s.restarts, bytes(s.recv_bytes), s.viewers,
            s.last_error],
    'No [source] is configured.');
}

export function forwardsView(main) {
  return simpleList(main, 'Forwards', '/api/v1/forwards', 'forwards',
    ['Stream', 'Rule', 'Destination', 'State', 'Restarts', 'Sent', 'Last error'],
    (f) => [f.stream, f.rule, f.url, f.state, f.restarts, bytes(f.send_bytes), f.last_error],
    'Nothing is being forwarded.');
}

// The cluster's nodes from the registry ([cluster] registry); a standalone server says so.
export function nodesView(main) {
  const holder = el('div');
  main.replaceChildren(el('h2', {}, 'Cluster nodes'), holder);
  return {
    interval: 3000,
    async refresh() {
      let body;
      try {
        body = await get('/api/v1/nodes');
      } catch (e) {
        if (e.status !== 404) throw e;
        holder.replaceChildren(el('p', {class: 'empty'},
          'This server runs without a cluster registry ([cluster] mode and registry in its config).'));
        return;
      }
      const rows = (body.nodes || []).map((n) => el('tr', {},
        ...[n.node_id, n.mode, n.rtmp, n.api, n.streams, n.viewers, `${Math.round(n.recv_kbps)} / ` +
            `${Math.round(n.send_kbps)} kb/s`, `${(n.cpu_percent || 0).toFixed(0)} %`,
            duration((Date.now() - n.updated_ms) / 1000)].map((c) => el('td', {}, c))));
      holder.replaceChildren(table(['Node', 'Mode', 'RTMP', 'API', 'Streams', 'Viewers', 'In / out', 'CPU',
                                    'Updated'], rows, 'No node has written a heartbeat.'));
    },
  };
}

export function encodersView(main) {
  const holder = el('div');
  main.replaceChildren(el('h2', {}, 'Encoders'), holder);
  return {
    interval: 10000,
    async refresh() {
      const body = await get('/api/v1/encoders');
      const rows = Object.entries(body.encoders || {}).map(([codec, e]) => el('tr', {},
        el('td', {}, codec), el('td', {}, el('code', {}, e.placeholder)), el('td', {}, e.element || 'none'),
        el('td', {}, e.family), el('td', {}, e.reason), el('td', {}, (e.rejected || []).join('; '))));
      holder.replaceChildren(table(['Codec', 'Placeholder', 'Element', 'Family', 'Why', 'Rejected'], rows,
                                   'No encoder was probed.'));
    },
  };
}
