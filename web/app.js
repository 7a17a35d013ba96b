// The demo page: loads a model directory over HTTP onto WebGPU and streams a continuation.
// Query parameters (for links and automated tests): model, prompt, ids (comma-separated token
// ids), max, temperature, autorun=1. Progress and results are mirrored on window.tessera and
// document.body.dataset.state ('loading' | 'generating' | 'done' | 'error').
import { loadTessera, generate, IncrementalDecoder } from './tessera.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { state: 'idle', ids: [], text: '', error: null, adapter: null, tokensPerSecond: null };
window.tessera = state;
let session = null;
let sessionUrl = null;
let abort = null;

function setState(s, message) {
  state.state = s;
  document.body.dataset.state = s;
  if (message !== undefined) $('status').textContent = message;
}

for (const key of ['model', 'max', 'temperature']) if (params.has(key)) $(key).value = params.get(key);
if (params.has('prompt')) $('prompt').value = params.get('prompt');
if (params.has('ids')) $('prompt').value = `ids: ${params.get('ids')}`;
if (!('gpu' in navigator)) setState('error', 'This browser exposes no WebGPU. Use Chrome or Edge 113+ (https or localhost).');
else setState('idle', 'WebGPU available. Press Generate.');

async function ensureModel(url) {
  if (session && sessionUrl === url) return session;
  session?.dispose();
  session = null;
  setState('loading', `Loading ${url}…`);
  const t0 = performance.now();
  session = await loadTessera(url, {
    onProgress: ({ loadedBytes, totalBytes }) => {
      $('status').textContent = `Downloading weights: ${(loadedBytes / 1e6).toFixed(1)} / ${(totalBytes / 1e6).toFixed(1)} MB`;
    },
  });
  sessionUrl = url;
  state.adapter = session.adapter;
  $('status').textContent = `Loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${session.adapter}.`;
  return session;
}

function promptIds(s, text) {
  const m = /^\s*ids:\s*(.*)$/s.exec(text);
  if (m) return m[1].split(/[\s,]+/).filter((x) => x !== '').map(Number);
  if (!s.tokenizer) throw new Error('this model directory has no tokenizer.json: give the prompt as token ids ("ids: 0, 17, 42")');
  return s.tokenizer.encode(text);
}

async function run() {
  $('run').disabled = true;
  $('stop').disabled = false;
  $('output').textContent = '';
  Object.assign(state, { ids: [], text: '', error: null, tokensPerSecond: null });
  abort = { aborted: false };
  try {
    const s = await ensureModel($('model').value.trim());
    const prompt = promptIds(s, $('prompt').value);
    const decoder = s.tokenizer ? new IncrementalDecoder(s.tokenizer, { promptIds: prompt, skipSpecialTokens: true }) : null;
    setState('generating', `Generating on ${s.adapter}…`);
    const result = await generate(s.model, prompt, {
      maxNewTokens: Number($('max').value),
      temperature: Number($('temperature').value),
      stopIds: s.model.info.eosTokenIds,
      signal: abort,
      onToken: (id) => {
        state.ids.push(id);
        const delta = decoder ? decoder.push(id) : `${state.ids.length > 1 ? ', ' : ''}${id}`;
        state.text += delta;
        $('output').textContent += delta;
      },
    });
    if (decoder) {
      const rest = decoder.flush();
      state.text += rest;
      $('output').textContent += rest;
    }
    state.tokensPerSecond = result.ids.length > 1 ? ((result.ids.length - 1) * 1000) / result.decodeMs : null;
    const speed = state.tokensPerSecond ? `, ${state.tokensPerSecond.toFixed(1)} tokens/s` : '';
    setState('done', `${result.ids.length} tokens (${result.finish}): prefill ${result.prefillMs.toFixed(0)} ms${speed} on ${s.adapter}.`);
  } catch (e) {
    state.error = String(e && e.message ? e.message : e);
    setState('error', `Error: ${state.error}`);
  } finally {
    $('run').disabled = false;
    $('stop').disabled = true;
  }
}

$('form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void run();
});
$('stop').addEventListener('click', () => {
  if (abort) abort.aborted = true;
});
if (params.get('autorun') === '1' && 'gpu' in navigator) void run();
