// A small Markdown renderer that builds DOM nodes and sets only textContent, so model output can
// never inject HTML: fenced code blocks, headings, lists, block quotes, paragraphs; inline code,
// **bold**, *italic* and [links](https://...) (http, https and mailto only).

/** Renders `text` into a DocumentFragment. */
export function renderMarkdown(text) {
  const root = document.createDocumentFragment();
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)\s*([\w+-]*)/.exec(line);
    if (fence) {
      const body = [];
      for (i++; i < lines.length && !lines[i].trimStart().startsWith(fence[1]); i++) body.push(lines[i]);
      i++;
      const pre = el('pre');
      const code = el('code', body.join('\n'));
      if (fence[2]) code.dataset.lang = fence[2];
      pre.append(code);
      root.append(pre);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      root.append(inline(el(`h${heading[1].length}`), heading[2]));
      i++;
      continue;
    }
    const item = /^\s*([-*+]|\d+[.)])\s+/;
    if (item.test(line)) {
      const list = el(/^\s*\d/.test(line) ? 'ol' : 'ul');
      for (; i < lines.length && item.test(lines[i]); i++) list.append(inline(el('li'), lines[i].replace(item, '')));
      root.append(list);
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quote = [];
      for (; i < lines.length && /^\s*>/.test(lines[i]); i++) quote.push(lines[i].replace(/^\s*>\s?/, ''));
      const q = el('blockquote');
      q.append(renderMarkdown(quote.join('\n')));
      root.append(q);
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    const para = [];
    for (; i < lines.length && lines[i].trim() !== '' && !/^\s*(```|~~~|#{1,6}\s|[-*+]\s|\d+[.)]\s|>)/.test(lines[i]); i++) para.push(lines[i]);
    if (para.length === 0) para.push(lines[i++]);
    const p = el('p');
    para.forEach((l, k) => {
      if (k > 0) p.append(el('br'));
      inline(p, l);
    });
    root.append(p);
  }
  return root;
}

function el(tag, text) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

const INLINE = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;

/** Appends the inline markup of `text` to `parent`; returns `parent`. */
function inline(parent, text) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    parent.append(text.slice(last, m.index));
    if (m[1] !== undefined) parent.append(el('code', m[1]));
    else if (m[2] !== undefined) parent.append(inline(el('strong'), m[2]));
    else if (m[3] !== undefined) parent.append(inline(el('em'), m[3]));
    else if (/^(https?:|mailto:)/i.test(m[5])) {
      const a = el('a', m[4]);
      a.href = m[5];
      a.rel = 'noopener noreferrer';
      a.target = '_blank';
      parent.append(a);
    } else parent.append(m[0]);
    last = m.index + m[0].length;
  }
  parent.append(text.slice(last));
  return parent;
}
