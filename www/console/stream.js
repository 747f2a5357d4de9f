// Estuary console: one stream's page. Live charts of bitrate, frame rate and viewers from
// /api/v1/streams/{id}/history (uPlot), the stream's URL for every protocol with copy buttons, DVR
// start/stop and files, a player for each protocol (the pages under /players/, in a frame), and
// the stream's clients with kick buttons.
import {apiBase, get, post, del} from './api.js';
import {bytes, copyable, duration, el, table} from './util.js';
import {clientHeaders, clientRows, codecs} from './views.js';

const players = [
  ['flv', 'HTTP-FLV'], ['ts', 'HTTP-TS'], ['hls', 'HLS'], ['dash', 'MPEG-DASH'], ['whep', 'WebRTC (WHEP)'],
];

// The server's listening ports (GET /api/v1/listen), fetched once; SRS's defaults if it cannot say.
let listenPorts = null;
async function ports() {
  if (!listenPorts) {
    listenPorts = get('/api/v1/listen').then((r) => r.ports)
        .catch(() => ({rtmp: 1935, srt: 10080, rtsp: 8554}));
  }
  return listenPorts;
}

function urls(s, p) {
  const host = location.hostname;
  const path = `${s.app}/${s.name}`;
  const rtc = new URLSearchParams({app: s.app, stream: s.name});
  const bracket = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const rtmp = p.rtmp === 1935 ? bracket : `${bracket}:${p.rtmp}`;
  const list = [];
  if (p.rtmp) list.push(['RTMP', `rtmp://${rtmp}/${path}`]);
  if (p.srt) {
    list.push(['SRT publish', `srt://${bracket}:${p.srt}?streamid=#!::r=${path},m=publish`]);
    list.push(['SRT play', `srt://${bracket}:${p.srt}?streamid=#!::r=${path},m=request`]);
  }
  if (p.rtsp) list.push(['RTSP', `rtsp://${bracket}:${p.rtsp}/${path}`]);
  list.push(['HTTP-FLV', `${location.origin}/${path}.flv`],
            ['HTTP-TS', `${location.origin}/${path}.ts`],
            ['HLS', `${location.origin}/${path}.m3u8`],
            ['MPEG-DASH', `${location.origin}/${path}.mpd`],
            ['WHEP', `${apiBase()}/rtc/v1/whep/?${rtc}`],
            ['WHIP', `${apiBase()}/rtc/v1/whip/?${rtc}`]);
  return list;
}

function playerUrl(kind, s) {
  const q = new URLSearchParams({app: s.app, stream: s.name, api: apiBase()});
  if (kind === 'whep') return `/players/whep.html?${q}`;
  q.set('kind', kind);
  return `/players/play.html?${q}`;
}

function chart(title, series, holder) {
  const opts = {
    title, width: 420, height: 180,
    scales: {x: {time: true}},
    series: [{}, ...series.map(([label, stroke]) => ({label, stroke, width: 2}))],
    axes: [{}, {size: 60}],
  };
  return new uPlot(opts, [[], ...series.map(() => [])], holder);
}

export function streamView(main, id) {
  const title = el('h2', {}, 'Stream');
  const info = el('p', {class: 'info'});
  const charts = el('div', {class: 'charts', id: 'charts'});
  const urlList = el('ul', {class: 'urls'});
  const dvrState = el('span', {id: 'dvr-state'}, '');
  const dvrFiles = el('div', {id: 'dvr-files'});
  const dvrError = el('span', {class: 'error'});
  const startButton = el('button', {id: 'dvr-start', type: 'button'}, 'Start recording');
  const stopButton = el('button', {id: 'dvr-stop', type: 'button'}, 'Stop recording');
  const frame = el('iframe', {id: 'player', title: 'player', allow: 'autoplay', hidden: true});
  const playerButtons = el('div', {class: 'players'});
  const clients = el('div');
  main.replaceChildren(title, info,
    el('section', {}, el('h3', {}, 'Last minutes'), charts),
    el('section', {}, el('h3', {}, 'Play'), playerButtons, frame),
    el('section', {}, el('h3', {}, 'URLs'), urlList),
    el('section', {}, el('h3', {}, 'Recording'), el('p', {}, dvrState, ' ', startButton, ' ', stopButton, ' ',
                                                       dvrError), dvrFiles),
    el('section', {}, el('h3', {}, 'Clients'), clients));

  const plots = typeof uPlot === 'function' ? [
    chart('Bitrate (kb/s)', [['in', '#1f77b4'], ['out', '#ff7f0e']], charts),
    chart('Frame rate (fps)', [['video', '#2ca02c']], charts),
    chart('Viewers', [['players', '#9467bd']], charts),
  ] : [];
  let stream = null;
  let urlsShown = false;

  function play(kind) {
    if (!stream) return;
    for (const b of playerButtons.children) b.classList.toggle('active', b.dataset.kind === kind);
    frame.hidden = false;
    frame.src = playerUrl(kind, stream);
    window.consoleState.player = kind;
  }
  for (const [kind, label] of players) {
    playerButtons.append(el('button', {type: 'button', dataset: {kind}, class: `play-${kind}`,
                                       onclick: () => play(kind)}, label));
  }

  async function dvr(start) {
    dvrError.textContent = '';
    try {
      if (start) await post(`/api/v1/dvr/${encodeURIComponent(id)}`);
      else await del(`/api/v1/dvr/${encodeURIComponent(id)}`);
      await view.refresh();
    } catch (e) {
      dvrError.textContent = e.message;
    }
  }
  startButton.addEventListener('click', () => dvr(true));
  stopButton.addEventListener('click', () => dvr(false));

  const view = {
    interval: 1000,
    stop() { frame.src = 'about:blank'; },
    async refresh() {
      const [one, hist, cl] = await Promise.all([
        get(`/api/v1/streams/${encodeURIComponent(id)}`),
        get(`/api/v1/streams/${encodeURIComponent(id)}/history`).catch(() => null),
        get('/api/v1/clients', {count: 1000})]);
      const first = !stream;
      stream = one.stream;
      const s = stream;
      title.textContent = `Stream ${s.app}/${s.name}`;
      info.textContent = `${codecs(s)} · live ${duration((Date.now() - s.live_ms) / 1000)} · ` +
                         `publisher ${s.publish.active ? s.publish.cid : 'none'} · id ${s.id}`;
      if (!urlsShown) {
        const p = await ports();
        urlList.replaceChildren(...urls(s, p).map(([name, u]) => el('li', {}, el('b', {}, name), ' ', copyable(u))));
        urlsShown = true;
      }
      if (hist && plots.length) {
        const h = hist.history;
        const t = h.t.map((ms) => ms / 1000);
        plots[0].setData([t, h.kbps_in, h.kbps_out]);
        plots[1].setData([t, h.fps]);
        plots[2].setData([t, h.viewers]);
      }
      window.consoleState.historySamples = hist ? hist.history.t.length : 0;
      const d = s.dvr;
      const recording = !!(d && d.recording);
      dvrState.textContent = recording ? `recording ${d.format} (${d.plan}) to ${d.file}` :
                             (d && d.error ? `stopped: ${d.error}` : 'not recording');
      dvrState.className = recording ? 'rec' : '';
      startButton.disabled = recording;
      stopButton.disabled = !recording;
      dvrFiles.replaceChildren(d && d.files && d.files.length ? table(['File', 'Size', 'Duration', ''],
        d.files.map((f) => el('tr', {}, el('td', {}, f.path), el('td', {class: 'num'}, bytes(f.size)),
                               el('td', {class: 'num'}, `${f.duration.toFixed(1)} s`),
                               el('td', {}, f.open ? 'open' : '')))) : '');
      const mine = cl.clients.filter((c) => c.stream === s.id);
      clients.replaceChildren(table(clientHeaders, clientRows(mine, new Map([[s.id, s]]), () => view.refresh()),
                                    'No client.'));
      if (first) {
        const wanted = new URLSearchParams(location.search).get('player');
        if (wanted) play(wanted);
      }
    },
  };
  return view;
}
