// Estuary players for HTTP-FLV and HTTP-TS (mpegts.js), HLS (hls.js) and MPEG-DASH (dash.js): what
// play.html runs. The
// libraries are served by Estuary from /vendor/ (npm, exact versions, installed at build time) and
// loaded only for the protocol asked for. window.estuaryPlayer is the state people and tests read:
// state (idle, loading, playing, failed), error, frames (counted with requestVideoFrameCallback),
// and latency() for HLS and DASH: seconds from the wall-clock time of the frame on screen (the
// playlist's EXT-X-PROGRAM-DATE-TIME in hls.js, the MPD's availabilityStartTime in dash.js) to now.
'use strict';

const EstuaryPlayer = (() => {
  const kinds = {
    flv: {label: 'HTTP-FLV', ext: 'flv', lib: '/vendor/mpegts.js'},
    ts: {label: 'HTTP-TS', ext: 'ts', lib: '/vendor/mpegts.js'},
    hls: {label: 'HLS', ext: 'm3u8', lib: '/vendor/hls.min.js'},
    dash: {label: 'MPEG-DASH', ext: 'mpd', lib: '/vendor/dash.all.min.js'},
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

  // What the element went through, for people and tests reading why playback paused: each time it
  // ran out of data ('waiting') and the last seeks (from, to), whoever made them.
  function watchElement(st, video) {
    let from = 0;
    video.addEventListener('timeupdate', () => { if (!video.seeking) from = video.currentTime; });
    video.addEventListener('waiting', () => { st.stalls++; });
    video.addEventListener('seeking', () => {
      st.seeks.push([Number(from.toFixed(2)), Number(video.currentTime.toFixed(2))]);
      if (st.seeks.length > 8) st.seeks.shift();
    });
  }

  // auth: an Authorization header value for every request (HLS only: the console's recordings).
  async function start(kind, url, video, unmute, auth) {
    const st = {kind, url, state: 'idle', error: '', frames: 0, stalls: 0, seeks: [], player: null};
    st.latency = () => {
      const p = st.player;
      if (!p) return null;
      if (kind === 'hls' && p.playingDate) return (Date.now() - p.playingDate.getTime()) / 1000;
      if (kind === 'dash' && p.getCurrentLiveLatency) return p.getCurrentLiveLatency();
      return null;
    };
    window.estuaryPlayer = st;
    if (!kinds[kind]) {
      setState(st, 'failed', `unknown player "${kind}" (flv, ts, hls or dash)`);
      return st;
    }
    setState(st, 'loading');
    countFrames(st, video);
    watchElement(st, video);
    try {
      await loadScript(kinds[kind].lib);
      if (kind === 'hls') {
        if (window.Hls && Hls.isSupported()) {
          // Low-latency mode plays parts; a late start catches up by playing up to 1.5x faster.
          const config = {lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.5};
          if (auth) config.xhrSetup = (xhr) => xhr.setRequestHeader('Authorization', auth);
          const hls = new Hls(config);
          st.player = hls;
          hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) setState(st, 'failed', data.details); });
          hls.loadSource(url);
          hls.attachMedia(video);
          // hls.js speeds up only when it is at most one target duration behind its target latency;
          // a slow start leaves it further back for good. Jump to the live sync point then.
          st.timer = setInterval(() => {
            if (hls.latency > hls.targetLatency + 2 && hls.liveSyncPosition > video.currentTime)
              video.currentTime = hls.liveSyncPosition;
          }, 1000);
        } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
          video.src = url;  // Safari plays HLS itself
        } else {
          throw new Error('this browser has neither MSE nor native HLS');
        }
      } else if (kind === 'dash') {
        if (!window.dashjs) throw new Error('dash.js did not load');
        const p = dashjs.MediaPlayer().create();
        // dash.js turns on its low-latency mode itself from the MPD (availabilityTimeOffset and the
        // ServiceDescription); the server sends the open segment chunked, part by part. Keep the
        // player near the live edge.
        // The live delay is the MPD's: its ServiceDescription in low latency, suggestedPresentationDelay
        // (3 segments) otherwise; a fixed one here would be too short for whole segments. Catching up
        // is LoL+'s, which looks at the buffer too: the default one sped up to 1.5x on latency alone
        // and, on a busy machine, drained the small low-latency buffer into stall after stall.
        p.updateSettings({debug: {logLevel: dashjs.Debug.LOG_LEVEL_WARNING},
                          streaming: {liveCatchup: {enabled: true, maxDrift: 3, mode: 'liveCatchupModeLoLP'}}});
        if (auth) p.extend('RequestModifier', () => ({
          modifyRequestHeader: (xhr) => { xhr.setRequestHeader('Authorization', auth); return xhr; },
          modifyRequestURL: (u) => u,
        }), true);
        st.player = p;
        p.on(dashjs.MediaPlayer.events.ERROR, (e) => setState(st, 'failed', JSON.stringify(e.error || e)));
        // dash.js must see the element's first 'play' event (its manifest refresh waits for it), so
        // playback is started here, once dash.js can play, not right away as for the others.
        p.on(dashjs.MediaPlayer.events.CAN_PLAY, () => { if (video.paused) autoplay(video, unmute); });
        p.initialize(video, url, true);
        return st;
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
    if (st.timer) clearInterval(st.timer);
    if (st.player.destroy) st.player.destroy();
    else if (st.player.reset) st.player.reset();  // dash.js
    st.player = null;
    setState(st, 'idle');
  }

  return {kinds, start, stop};
})();
