// Estuary console: the page shell. Routes on location.hash to one view at a time, refreshes the view
// on its interval while it is shown, and asks for credentials when the API answers 401.
// Views: overview, streams, clients (views.js), one stream (stream.js), sources, forwards, encoders, nodes,
// recordings (recordings.js).
import {ApiError, apiBase, setCredentials} from './api.js';
import {recordingsView} from './recordings.js';
import {streamView} from './stream.js';
import {el} from './util.js';
import {clientsView, encodersView, forwardsView, nodesView, overviewView, sourcesView, streamsView} from './views.js';

// What a person or a test reads: the view shown, the last error, refresh count.
const state = {view: '', error: '', refreshes: 0, api: apiBase()};
window.consoleState = state;

const routes = [
  [/^#?\/?$/, 'overview', overviewView],
  [/^#\/streams\/?$/, 'streams', streamsView],
  [/^#\/streams\/([^/]+)$/, 'stream', streamView],
  [/^#\/clients\/?$/, 'clients', clientsView],
  [/^#\/sources\/?$/, 'sources', sourcesView],
  [/^#\/forwards\/?$/, 'forwards', forwardsView],
  [/^#\/encoders\/?$/, 'encoders', encodersView],
  [/^#\/nodes\/?$/, 'nodes', nodesView],
  [/^#\/recordings\/?$/, 'recordings', recordingsView],
];

let current = null;  // {timer, stop}

function showLogin(message) {
  const main = document.getElementById('view');
  const user = el('input', {name: 'user', autocomplete: 'username'});
  const password = el('input', {name: 'password', type: 'password', autocomplete: 'current-password'});
  const token = el('input', {name: 'token', type: 'password'});
  const form = el('form', {id: 'login', class: 'login'},
    el('h2', {}, 'Sign in to the Estuary API'),
    el('p', {class: 'error'}, message),
    el('p', {}, 'User and password ([api] auth = basic) or a token (auth = bearer).'),
    el('label', {}, 'User ', user), el('label', {}, 'Password ', password),
    el('label', {}, 'Token ', token),
    el('button', {type: 'submit'}, 'Sign in'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setCredentials({user: user.value, password: password.value, token: token.value});
    route();
  });
  main.replaceChildren(form);
}

function showError(e) {
  state.error = e.message;
  document.getElementById('status').textContent = e.message;
  if (e instanceof ApiError && e.status === 401) {
    stop();
    state.view = 'login';
    showLogin('The API needs credentials.');
  }
}

function stop() {
  if (!current) return;
  clearTimeout(current.timer);
  if (current.stop) current.stop();
  current = null;
}

function route() {
  stop();
  const hash = location.hash || '#/';
  for (const a of document.querySelectorAll('nav a')) {
    a.classList.toggle('active', hash === a.getAttribute('href') ||
                                 (a.getAttribute('href') !== '#/' && hash.startsWith(a.getAttribute('href'))));
  }
  const found = routes.find(([re]) => re.test(hash));
  const main = document.getElementById('view');
  if (!found) {
    main.replaceChildren(el('p', {class: 'error'}, `No page ${hash}`));
    return;
  }
  const [re, name, view] = found;
  const args = hash.match(re).slice(1).map(decodeURIComponent);
  state.view = name;
  const me = {timer: 0, stop: null};
  current = me;
  // view(main, ...args) returns {refresh, interval, stop}; refresh() may throw ApiError.
  const v = view(main, ...args);
  me.stop = v.stop;
  const tick = async () => {
    try {
      await v.refresh();
      if (current !== me) return;
      state.refreshes++;
      state.error = '';
      document.getElementById('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      if (current !== me) return;
      showError(e);
      if (current !== me) return;
    }
    me.timer = setTimeout(tick, v.interval || 2000);
  };
  tick();
}

document.getElementById('api').textContent = apiBase();
window.addEventListener('hashchange', route);
route();
