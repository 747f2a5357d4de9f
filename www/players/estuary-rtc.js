// Estuary WebRTC players: what whep.html and whip.html share. The WHIP/WHEP exchange (one SDP offer
// POSTed after ICE gathering has completed, no trickle), the API address, the page state that
// people and tests read (window.estuaryState), and DELETE of the session when the page goes.
// Only the browser's own WebRTC API; nothing is fetched from anywhere but the Estuary server.
'use strict';

const EstuaryRtc = (() => {
  const params = new URLSearchParams(location.search);
  // Query parameters the page itself uses; the rest (token=..., ...) go on to the WHIP/WHEP URL so
  // the server's hooks see them, as with RTMP's ?token=.
  const pageParams = ['api', 'app', 'stream', 'codec', 'width', 'height', 'fps'];
  const gatherTimeoutMs = 5000;

  // "api=host:port" or "api=http://host:port"; default: this page's host on the SRS API port.
  // location.hostname keeps the brackets of an IPv6 address.
  function apiBase() {
    let api = params.get('api');
    if (!api) return `${location.protocol}//${location.hostname}:1985`;
    if (!/^https?:\/\//i.test(api)) api = `${location.protocol}//${api}`;
    return api.replace(/\/+$/, '');
  }

  function endpoint(kind, app, stream) {
    const q = new URLSearchParams({app, stream});
    for (const [k, v] of params) {
      if (!pageParams.includes(k)) q.append(k, v);
    }
    return `${apiBase()}/rtc/v1/${kind}/?${q}`;
  }

  // The state a test or a person reads: state is one of idle, media, gathering, offering,
  // connecting, connected, disconnected, failed, closed; error says why a session failed.
  function createState(kind) {
    const state = {
      kind,
      app: params.get('app') || 'live',
      stream: params.get('stream') || 'livestream',
      api: apiBase(),
      state: 'idle',
      error: '',
      resource: '',  // the session URL from Location, for DELETE
      iceConnectionState: '',
      connectionState: '',
      pc: null,
    };
    window.estuaryState = state;
    return state;
  }

  function setState(st, value, error) {
    st.state = value;
    if (error) st.error = String(error);
    const el = document.getElementById('state');
    if (el) el.textContent = value + (st.error ? `: ${st.error}` : '');
    console.log(`estuary ${st.kind}: ${value}${error ? ' ' + error : ''}`);
  }

  function watch(st, pc) {
    st.pc = pc;
    pc.addEventListener('iceconnectionstatechange', () => { st.iceConnectionState = pc.iceConnectionState; });
    pc.addEventListener('connectionstatechange', () => {
      st.connectionState = pc.connectionState;
      if (st.state === 'closed') return;
      if (['connected', 'disconnected', 'failed'].includes(pc.connectionState)) setState(st, pc.connectionState);
    });
  }

  // Non-trickle: the offer carries every candidate, so the server needs no PATCH support. A browser
  // that never reports "complete" (an unreachable STUN server) is given gatherTimeoutMs.
  function gathered(pc) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, gatherTimeoutMs);
      function done() {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      }
      function check() {
        if (pc.iceGatheringState === 'complete') done();
      }
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  async function exchange(st, pc, kind) {
    await pc.setLocalDescription(await pc.createOffer());
    setState(st, 'gathering');
    await gathered(pc);
    setState(st, 'offering');
    const url = endpoint(kind, st.app, st.stream);
    const res = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/sdp'},
                                  body: pc.localDescription.sdp});
    const body = await res.text();
    if (res.status !== 201) throw new Error(`${kind.toUpperCase()} ${res.status}: ${body.slice(0, 300)}`);
    // Readable across origins only with Access-Control-Expose-Headers: Location.
    const location = res.headers.get('Location');
    st.resource = location ? new URL(location, url).href : '';
    setState(st, 'connecting');
    await pc.setRemoteDescription({type: 'answer', sdp: body});
  }

  // Ends the session on the server (DELETE on Location) and locally. keepalive lets the request
  // outlive the page when called from pagehide.
  function stop(st) {
    if (st.state === 'closed') return Promise.resolve();
    setState(st, 'closed');
    const resource = st.resource;
    if (st.pc) st.pc.close();
    if (!resource) return Promise.resolve();
    return fetch(resource, {method: 'DELETE', keepalive: true}).then(() => {}, () => {});
  }

  function start(st, kind, setup) {
    window.addEventListener('pagehide', () => stop(st));
    window.estuaryStop = () => stop(st);
    (async () => {
      const pc = new RTCPeerConnection();
      watch(st, pc);
      await setup(pc);
      await exchange(st, pc, kind);
    })().catch((e) => {
      setState(st, 'failed', e && e.message ? e.message : e);
      if (st.pc) st.pc.close();
    });
  }

  // Shows a few getStats() figures once a second for people; tests read getStats() themselves.
  function showStats(st, pick) {
    const el = document.getElementById('stats');
    setInterval(async () => {
      if (!st.pc || !el) return;
      const lines = [];
      const report = await st.pc.getStats();
      report.forEach((r) => {
        const line = pick(r, report);
        if (line) lines.push(line);
      });
      el.textContent = lines.join('\n');
    }, 1000);
  }

  return {params, apiBase, endpoint, createState, setState, start, stop, showStats};
})();
