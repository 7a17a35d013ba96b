"""Builds the training corpus from Debian packages (see models/tessera-tiny/README.md for licenses).

  fortunes    /usr/share/games/fortunes/*   (package `fortunes`, BSD-3-Clause; ascii-art left out)
  python docs /usr/share/doc/python3.11/html/_sources/{tutorial,howto,faq,reference,using}
              (package `python3-doc`, reST sources of the Python 3.11 documentation, PSF-2.0)

Documents: one fortune file (fortunes joined by the "%" lines of the fortune format) or one
documentation page. A fixed hash moves about 2% of the fortunes, and the two small pages (< 40 kB) with the lowest
hashes, to the held-out set.
Outputs (in the work directory):
  train.jsonl     one JSON string per training document
  heldout.txt     held-out fortunes, then held-out pages, joined by "\n%\n" (the fortune separator)
  sources.json    byte and document counts per source
"""
import glob
import hashlib
import json
import os
import re

FORTUNE_DIR = '/usr/share/games/fortunes'
FORTUNE_SKIP = {'ascii-art'}  # pictures, not text
PYDOC_DIR = '/usr/share/doc/python3.11/html/_sources'
PYDOC_PARTS = ['tutorial', 'howto', 'faq', 'reference', 'using']
SEP = '\n%\n'
HELDOUT_PERCENT = 2
HELDOUT_PAGES = 2
HELDOUT_PAGE_MAX_BYTES = 40_000


def digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def held_out(text: str) -> bool:
    return digest(text) % 100 < HELDOUT_PERCENT


def clean_fortune(t: str) -> str:
    t = re.sub('.\x08', '', t)  # overstrike (bold / underline) -> plain character
    lines = [line.rstrip() for line in t.split('\n')]
    return '\n'.join(lines).strip('\n')


def clean_rest(t: str) -> str:
    """Light reST cleanup: roles become their text, labels and index directives go."""
    t = re.sub(r':[a-z]+(?::[a-z]+)?:`[!~]?([^`<]*?)(?:\s*<[^>]*>)?`', r'\1', t)  # :func:`~os.path` -> os.path
    out, skip = [], False
    for line in t.split('\n'):
        if re.match(r'\.\. (_[^:]*:|index::|highlight::|sectionauthor::|moduleauthor::|versionadded::|versionchanged::)', line):
            skip = line.startswith('.. index::')
            continue
        if skip and (line.startswith(' ') or line == ''):
            skip = line != ''
            continue
        skip = False
        out.append(line.rstrip())
    return re.sub(r'\n{3,}', '\n\n', '\n'.join(out)).strip('\n')


def fortunes():
    for path in sorted(glob.glob(os.path.join(FORTUNE_DIR, '*'))):
        name = os.path.basename(path)
        if '.' in name or os.path.islink(path) or name in FORTUNE_SKIP:
            continue
        with open(path, encoding='utf-8') as f:
            raw = f.read()
        items = [clean_fortune(x) for x in re.split(r'\n%\n', '\n' + raw + '\n')]
        yield name, [x for x in items if x.strip()]


def pydoc_pages():
    for part in PYDOC_PARTS:
        for path in sorted(glob.glob(os.path.join(PYDOC_DIR, part, '**', '*.rst.txt'), recursive=True)):
            with open(path, encoding='utf-8') as f:
                text = clean_rest(f.read())
            if text.strip():
                yield os.path.relpath(path, PYDOC_DIR), text


def build(work: str) -> dict:
    os.makedirs(work, exist_ok=True)
    train, held_f, held_p = [], [], []
    stats = {'fortunes': {'files': 0, 'items': 0, 'bytes': 0}, 'python-docs': {'pages': 0, 'bytes': 0}}
    for _, items in fortunes():
        keep = [x for x in items if not held_out(x)]
        held_f += [x for x in items if held_out(x)]
        train.append(SEP.join(keep))
        stats['fortunes']['files'] += 1
        stats['fortunes']['items'] += len(items)
        stats['fortunes']['bytes'] += sum(len(x.encode()) for x in items)
    pages = list(pydoc_pages())
    small = sorted((digest(name), name) for name, text in pages if len(text.encode()) < HELDOUT_PAGE_MAX_BYTES)
    held_names = {name for _, name in small[:HELDOUT_PAGES]}
    for name, text in pages:
        (held_p if name in held_names else train).append(text)
        stats['python-docs']['pages'] += 1
        stats['python-docs']['bytes'] += len(text.encode())
    stats['heldout_pages'] = sorted(held_names)
    heldout = SEP.join(held_f + held_p) + '\n'
    with open(os.path.join(work, 'train.jsonl'), 'w', encoding='utf-8') as f:
        for doc in train:
            f.write(json.dumps(doc) + '\n')
    with open(os.path.join(work, 'heldout.txt'), 'w', encoding='utf-8') as f:
        f.write(heldout)
    stats['train_bytes'] = sum(len(d.encode()) for d in train)
    stats['heldout_bytes'] = len(heldout.encode())
    stats['heldout_items'] = {'fortunes': len(held_f), 'python-doc pages': len(held_p)}
    with open(os.path.join(work, 'sources.json'), 'w') as f:
        json.dump(stats, f, indent=1)
    return stats


if __name__ == '__main__':
    import sys
    print(json.dumps(build(sys.argv[1] if len(sys.argv) > 1 else 'tmp/tessera-tiny-train'), indent=1))
