// Estuary players for HTTP-FLV and HTTP-TS (mpegts.js) and HLS (hls.js): what play.html runs. The
// libraries are served by Estuary from /vendor/ (npm, exact versions, installed at build time) and
// loaded only for the protocol asked for. window.estuaryPlayer is the state people and tests read:
// state (idle, loading, playing, failed), error, and frames (counted with requestVideoFrameCallback).
'use strict';

const EstuaryPlayer = (() => {
  const kinds = {
    flv: {label: 'HTTP-FLV', ext: 'flv', lib: '/vendor/mpegts.js'},
    ts: {label: 'HTTP-TS', ext: 'ts', lib: '/vendor/mpegts.js'},
    hls: {label: 'HLS', ext: 'm3u8', lib: '/vendor/hls.min.js'},
  };

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      if (document.querySelector(`script[src="${src}"]`)) return resolve();
      const s = document.createElement('script');
      s.src = src;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.append(s);
    });
  }

  function setState(st, value, error) {
    st.state = value;
    if (error) st.error = String(error);
    const el = document.getElementById('state');
    if (el) el.textContent = value + (st.error ? `: ${st.error}` : '');
  }

  function countFrames(st, video) {
    if (!('requestVideoFrameCallback' in video)) return;
    const onFrame = () => {
      st.frames++;
      if (st.state !== 'playing') setState(st, 'playing');
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  // Browsers refuse unmuted autoplay without a gesture: play muted then, and offer a button.
  function autoplay(video, unmute) {
    video.play().catch(() => {
      video.muted = true;
      if (unmute) unmute.hidden = false;
      video.play().catch(() => {});
    });
  }

  // auth: an Authorization header value for every request (HLS only: the console's recordings).
  async function start(kind, url, video, unmute, auth) {
    const st = {kind, url, state: 'idle', error: '', frames: 0, player: null};
    window.estuaryPlayer = st;
    if (!kinds[kind]) {
      setState(st, 'failed', `unknown player "${kind}" (flv, ts or hls)`);
      return st;
    }
    setState(st, 'loading');
    countFrames(st, video);
    try {
      await loadScript(kinds[kind].lib);
      if (kind === 'hls') {
        if (window.Hls && Hls.isSupported()) {
          const config = {lowLatencyMode: true};
          if (auth) config.xhrSetup = (xhr) => xhr.setRequestHeader('Authorization', auth);
          const hls = new Hls(config);
          st.player = hls;
          hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) setState(st, 'failed', data.details); });
          hls.loadSource(url);
          hls.attachMedia(video);
        } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
          video.src = url;  // Safari plays HLS itself
        } else {
          throw new Error('this browser has neither MSE nor native HLS');
        }
      } else {
        if (!window.mpegts || !mpegts.isSupported()) throw new Error('this browser has no MSE');
        const p = mpegts.createPlayer({type: kind === 'flv' ? 'flv' : 'mpegts', isLive: true, url},
                                      {enableStashBuffer: false, liveBufferLatencyChasing: true});
        st.player = p;
        p.on(mpegts.Events.ERROR, (type, detail) => setState(st, 'failed', `${type}: ${detail}`));
        p.attachMediaElement(video);
        p.load();
      }
      autoplay(video, unmute);
    } catch (e) {
      setState(st, 'failed', e.message || e);
    }
    return st;
  }

  function stop(st) {
    if (!st || !st.player) return;
    if (st.player.destroy) st.player.destroy();
    st.player = null;
    setState(st, 'idle');
  }

  return {kinds, start, stop};
})();
