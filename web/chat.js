// The chat page of `tessera serve`: conversations kept in localStorage, answers streamed from
// /v1/chat/completions, reasoning in a collapsed <details>, Markdown rendered by markdown.js (DOM
// nodes only, never innerHTML). A 401 asks for the API key (kept in localStorage). State for
// tests: document.body.dataset.state is 'idle' | 'generating'. "Run in this tab" generates with
// the embedded model on WebGPU in the page instead (the browser bundle, tessera.js).
import { renderMarkdown } from './markdown.js';

const $ = (id) => document.getElementById(id);
const store = {
  load: (key, fallback) => {
    try {
      return JSON.parse(localStorage.getItem(`tessera.${key}`) ?? 'null') ?? fallback;
    } catch {
      return fallback;
    }
  },
  save: (key, value) => localStorage.setItem(`tessera.${key}`, JSON.stringify(value)),
};

let chats = store.load('chats', []);
let currentId = store.load('current', null);
let apiKey = store.load('apiKey', '');
let controller = null;
/** what to retry once the user has given an API key */
let afterKey = null;

const settingIds = ['system', 'temperature', 'max-tokens', 'thinking', 'in-tab'];
const settings = store.load('settings', {});
for (const id of settingIds) {
  if (settings[id] === undefined) continue;
  if ($(id).type === 'checkbox') $(id).checked = settings[id];
  else $(id).value = settings[id];
}
for (const id of [...settingIds, 'model']) {
  $(id).addEventListener('change', () => {
    for (const s of settingIds) settings[s] = $(s).type === 'checkbox' ? $(s).checked : $(s).value;
    settings.model = $('model').value;
    store.save('settings', settings);
  });
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, init = {}) {
  const headers = { 'Content-Type': 'application/json', ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}) };
  const res = await fetch(path, { ...init, headers });
  if (res.ok) return res;
  const text = await res.text();
  let message = text;
  try {
    message = JSON.parse(text).error.message;
  } catch {
    // not an error object: show the text
  }
  throw new HttpError(res.status, `${res.status}: ${message}`);
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = message === '';
}

/** Runs `action`; a 401 opens the key form and runs it again once a key is given. */
async function withKey(action) {
  try {
    await action();
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) {
      afterKey = action;
      $('key-form').hidden = false;
      $('api-key').focus();
      showError(apiKey ? 'The server refused this API key.' : 'The server needs an API key.');
    } else if (e.name !== 'AbortError') showError(String(e.message ?? e));
  }
}

async function loadModels() {
  const { data } = await (await api('/v1/models')).json();
  const select = $('model');
  select.replaceChildren(...data.map((m) => Object.assign(document.createElement('option'), { value: m.id, textContent: m.id })));
  if (data.some((m) => m.id === settings.model)) select.value = settings.model;
}

function current() {
  let chat = chats.find((c) => c.id === currentId);
  if (!chat) {
    chat = { id: crypto.randomUUID(), title: 'New chat', messages: [] };
    chats.unshift(chat);
    currentId = chat.id;
  }
  return chat;
}

function save() {
  store.save('chats', chats);
  store.save('current', currentId);
}

function renderChats() {
  $('chats').replaceChildren(
    ...chats.map((c) => {
      const li = document.createElement('li');
      li.className = c.id === currentId ? 'current' : '';
      const title = Object.assign(document.createElement('span'), { textContent: c.title });
      title.addEventListener('click', () => {
        if (controller) return;
        currentId = c.id;
        save();
        render();
      });
      const del = Object.assign(document.createElement('button'), { textContent: '×', title: 'Delete' });
      del.addEventListener('click', () => {
        if (controller && c.id === currentId) return;
        chats = chats.filter((x) => x !== c);
        if (currentId === c.id) currentId = chats[0]?.id ?? null;
        save();
        render();
      });
      li.append(title, del);
      return li;
    }),
  );
}

function messageNode(m) {
  const div = document.createElement('div');
  div.className = `message ${m.role}`;
  if (m.role === 'user') {
    div.textContent = m.content;
    return div;
  }
  if (m.reasoning) {
    const details = document.createElement('details');
    details.append(Object.assign(document.createElement('summary'), { textContent: 'Reasoning' }), Object.assign(document.createElement('div'), { className: 'reasoning', textContent: m.reasoning }));
    div.append(details);
  }
  const content = Object.assign(document.createElement('div'), { className: 'content' });
  content.append(renderMarkdown(m.content));
  div.append(content);
  if (m.finish) {
    div.dataset.finish = m.finish;
    div.append(Object.assign(document.createElement('div'), { className: 'meta', textContent: m.finish === 'stop' ? '' : `(${m.finish})` }));
  }
  return div;
}

function render() {
  const chat = chats.find((c) => c.id === currentId);
  $('messages').replaceChildren(...(chat ? chat.messages.map(messageNode) : []));
  $('messages').scrollTop = $('messages').scrollHeight;
  renderChats();
}

function setGenerating(on) {
  document.body.dataset.state = on ? 'generating' : 'idle';
  $('send').disabled = on;
  $('regenerate').disabled = on;
  $('stop').disabled = !on;
}

/** Streams /v1/chat/completions into `reply`, calling `update` after each network chunk. */
async function streamFromServer(messages, reply, update, signal) {
  const res = await api('/v1/chat/completions', {
    method: 'POST',
    signal,
    body: JSON.stringify({
      model: $('model').value || undefined,
      messages,
      stream: true,
      temperature: Number($('temperature').value),
      max_tokens: Number($('max-tokens').value),
      chat_template_kwargs: { thinking: $('thinking').checked },
    }),
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        const chunk = JSON.parse(line.slice(6));
        if (chunk.error) throw new Error(chunk.error.message);
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        reply.content += choice.delta?.content ?? '';
        reply.reasoning += choice.delta?.reasoning ?? choice.delta?.reasoning_content ?? '';
        if (choice.finish_reason) reply.finish = choice.finish_reason;
      }
    }
    update();
  }
}

/** The model in this tab on WebGPU (the bundle's loadTessera), loaded on first use. */
let tab = null;
async function tabSession() {
  if (!('gpu' in navigator)) throw new Error('This browser exposes no WebGPU; use Chrome or Edge 113+ over https or localhost, or clear "Run in this tab".');
  tab ??= import('./tessera.js').then(async (lib) => ({ lib, session: await lib.loadTessera('models/tessera-tiny/') }));
  tab.catch(() => (tab = null));
  return tab;
}

/** Generates in this tab, token by token, into `reply`; the prompt is the model's own chat encoding. */
async function streamInTab(messages, reply, update, signal) {
  const { lib, session } = await tabSession();
  if (!session.chat || !session.tokenizer) throw new Error('this model has no chat encoding');
  const prompt = lib.encodeChat(session.tokenizer, session.chat, { messages, thinking: $('thinking').checked });
  const decoder = new lib.IncrementalDecoder(session.tokenizer, { promptIds: prompt.ids, skipSpecialTokens: true });
  let raw = '';
  const split = () => {
    const end = prompt.startsInReasoning ? raw.indexOf('</think>') : 0;
    reply.reasoning = end < 0 ? raw : raw.slice(0, end);
    reply.content = end < 0 ? '' : raw.slice(end).replace(/^<\/think>/, '');
    update();
  };
  const result = await lib.generate(session.model, prompt.ids, {
    maxNewTokens: Number($('max-tokens').value),
    temperature: Number($('temperature').value),
    stopIds: session.model.info.eosTokenIds,
    signal,
    onToken: (id) => {
      raw += decoder.push(id);
      split();
    },
  });
  raw += decoder.flush();
  split();
  reply.finish = result.finish === 'abort' ? 'stopped' : result.finish;
}

/** Streams the assistant's answer to the conversation so far into a new message. */
async function answer(chat) {
  const history = chat.messages.map((m) => ({ role: m.role, content: m.content }));
  const system = $('system').value.trim();
  const messages = system ? [{ role: 'system', content: system }, ...history] : history;
  const reply = { role: 'assistant', content: '', reasoning: '' };
  chat.messages.push(reply);
  $('messages').append(messageNode(reply));
  const update = () => $('messages').lastElementChild.replaceWith(messageNode(reply));
  controller = new AbortController();
  setGenerating(true);
  showError('');
  try {
    await ($('in-tab').checked ? streamInTab : streamFromServer)(messages, reply, update, controller.signal);
  } catch (e) {
    if (e.name === 'AbortError') reply.finish = 'stopped';
    else {
      reply.finish = 'error';
      if (reply.content === '' && reply.reasoning === '') chat.messages.pop();
      throw e;
    }
  } finally {
    controller = null;
    setGenerating(false);
    save();
    render();
  }
}

$('composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('input').value.trim();
  if (text === '' || controller) return;
  const chat = current();
  if (chat.messages.length === 0) chat.title = text.slice(0, 40);
  chat.messages.push({ role: 'user', content: text });
  $('input').value = '';
  save();
  render();
  void withKey(() => answer(chat));
});
$('input').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey) {
    ev.preventDefault();
    $('composer').requestSubmit();
  }
});
$('stop').addEventListener('click', () => controller?.abort());
$('regenerate').addEventListener('click', () => {
  const chat = chats.find((c) => c.id === currentId);
  if (!chat || controller) return;
  while (chat.messages.at(-1)?.role === 'assistant') chat.messages.pop();
  if (chat.messages.length === 0) return;
  render();
  void withKey(() => answer(chat));
});
$('new-chat').addEventListener('click', () => {
  if (controller) return;
  currentId = null;
  current();
  save();
  render();
});
$('key-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  apiKey = $('api-key').value.trim();
  store.save('apiKey', apiKey);
  $('key-form').hidden = true;
  showError('');
  const action = afterKey;
  afterKey = null;
  void withKey(async () => {
    await loadModels();
    if (action && action !== loadModels) await action();
  });
});

setGenerating(false);
render();
void withKey(loadModels);
