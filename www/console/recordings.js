// Estuary console: the recordings page. The index from /api/v1/recordings (stream and time range,
// paginated), a timeline of the stream's files in the range (gaps show as empty stretches),
// playback of the range over HLS VOD (MPEG-TS recordings) in the player frame, clip download (an
// MP4 cut at keyframes), file download and delete.
import {apiBase, authorization, del, get} from './api.js';
import {bytes, el, table} from './util.js';

const pageSize = 50;

function localInput(ms) {
  const d = new Date(ms - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}

// Downloads an API URL with the console's credentials (a plain link could not carry them).
async function download(url, name, status) {
  status.textContent = 'preparing…';
  const headers = {};
  if (authorization()) headers.Authorization = authorization();
  const res = await fetch(url, {headers});
  if (!res.ok) {
    status.textContent = `failed: ${res.status} ${(await res.text()).slice(0, 200)}`;
    return;
  }
  const blob = await res.blob();
  const a = el('a', {href: URL.createObjectURL(blob), download: name});
  document.body.append(a);
  a.click();
  a.remove();
  status.textContent = `downloaded ${name} (${bytes(blob.size)})`;
  window.consoleState.lastDownload = {name, size: blob.size, type: blob.type};
}

export function recordingsView(main) {
  const now = Date.now();
  const stream = el('input', {id: 'rec-stream', placeholder: 'app/stream', value: ''});
  const from = el('input', {id: 'rec-from', type: 'datetime-local', step: 1, value: localInput(now - 1800000)});
  const to = el('input', {id: 'rec-to', type: 'datetime-local', step: 1, value: localInput(now + 60000)});
  const list = el('div', {id: 'rec-list'});
  const timeline = el('div', {class: 'timeline', id: 'rec-timeline'});
  const status = el('span', {id: 'rec-status'});
  const frame = el('iframe', {id: 'player', title: 'player', allow: 'autoplay', hidden: true});
  const pager = el('span');
  let start = 0;
  const range = () => ({stream: stream.value.trim(), from: new Date(from.value).getTime(),
                        to: new Date(to.value).getTime()});
  const q = (r) => new URLSearchParams({stream: r.stream, from: r.from, to: r.to});

  const play = el('button', {id: 'rec-play', type: 'button'}, 'Play range');
  play.addEventListener('click', () => {
    const r = range();
    if (!r.stream) { status.textContent = 'choose a stream (app/name)'; return; }
    const url = `${apiBase()}/api/v1/recordings/vod.m3u8?${q(r)}`;
    frame.hidden = false;
    frame.src = `/players/play.html?${new URLSearchParams({kind: 'hls', url, auth: 'console'})}`;
  });
  const clip = el('button', {id: 'rec-clip', type: 'button'}, 'Download clip (MP4)');
  clip.addEventListener('click', () => {
    const r = range();
    if (!r.stream) { status.textContent = 'choose a stream (app/name)'; return; }
    download(`${apiBase()}/api/v1/recordings/clip?${q(r)}`,
             `${r.stream.replace('/', '-')}-${r.from}.mp4`, status).catch((e) => { status.textContent = e.message; });
  });
  const form = el('form', {class: 'filters'}, el('label', {}, 'Stream ', stream), el('label', {}, 'From ', from),
                  el('label', {}, 'To ', to), el('button', {type: 'submit'}, 'Show'), ' ', play, ' ', clip, ' ',
                  status);
  main.replaceChildren(el('h2', {}, 'Recordings'), form, timeline, frame, list, pager);

  const view = {
    interval: 5000,
    async refresh() {
      const r = range();
      const body = await get('/api/v1/recordings', {stream: r.stream, from: r.from, to: r.to, start, count: pageSize});
      const recs = body.recordings;
      window.consoleState.recordings = recs.length;
      const rows = recs.map((x) => {
        const remove = el('button', {type: 'button', class: 'delete', disabled: x.open}, 'Delete');
        remove.addEventListener('click', async () => {
          if (!confirm(`Delete ${x.id}?`)) return;
          try { await del(`/api/v1/recordings/files/${x.id}`); await view.refresh(); } catch (e) {
            status.textContent = e.message;
          }
        });
        const get1 = el('button', {type: 'button'}, 'Download');
        get1.addEventListener('click', () => download(apiBase() + x.url, x.id.split('/').pop(), status));
        return el('tr', {dataset: {id: x.id}},
          el('td', {}, el('a', {href: '#/recordings', onclick: () => { stream.value = x.stream; }}, x.stream)),
          el('td', {}, new Date(x.start_ms).toLocaleString()), el('td', {}, new Date(x.end_ms).toLocaleString()),
          el('td', {class: 'num'}, `${x.duration.toFixed(1)} s`), el('td', {class: 'num'}, bytes(x.size)),
          el('td', {}, x.format), el('td', {}, x.codecs), el('td', {}, x.open ? el('span', {class: 'rec'}, '● rec') : ''),
          el('td', {}, get1, ' ', remove));
      });
      list.replaceChildren(table(['Stream', 'Start', 'End', 'Duration', 'Size', 'Format', 'Codecs', '', ''], rows,
                                 body.indexed ? 'No recording in this range.' : 'Indexing the recordings…'));
      // The timeline: the range as a bar, each file a block where it was recording.
      const span = Math.max(1, r.to - r.from);
      timeline.replaceChildren(...recs.filter((x) => !r.stream || x.stream === r.stream).map((x) => el('div', {
        class: 'block', title: `${x.id} (${x.duration.toFixed(1)} s)`,
        style: `left:${Math.max(0, (x.start_ms - r.from) / span * 100)}%;` +
               `width:${Math.max(0.3, (Math.min(x.end_ms, r.to) - Math.max(x.start_ms, r.from)) / span * 100)}%`})));
      pager.replaceChildren(`${body.total} recordings`, ' ',
        el('button', {type: 'button', disabled: start === 0,
                      onclick: () => { start = Math.max(0, start - pageSize); view.refresh(); }}, '‹ previous'), ' ',
        el('button', {type: 'button', disabled: start + pageSize >= body.total,
                      onclick: () => { start += pageSize; view.refresh(); }}, 'next ›'));
    },
    stop() { frame.src = 'about:blank'; },
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); start = 0; view.refresh(); });
  return view;
}
