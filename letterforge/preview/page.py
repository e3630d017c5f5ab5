"""The preview page: one HTML document with its style and script, no external files.

The script reads ``/api/state`` and follows ``/events`` (server-sent events): on a new
revision it reads the state again and updates the page in place: the page images keep
their elements and sizes and only their ``src`` changes, so the scroll position stays
where the reader left it. Problems show in a banner over the last good rendering.
"""

from __future__ import annotations

from html import escape

STYLE = """
:root { --bar: 3.2rem; font-family: system-ui, sans-serif; color: #1b1b1b; }
body { margin: 0; background: #e8e8e8; }
header { position: fixed; inset: 0 0 auto 0; height: var(--bar); z-index: 2;
  display: flex; gap: 1rem; align-items: center; padding: 0 1rem;
  background: #20303f; color: #fff; }
header h1 { font-size: 1rem; margin: 0 1rem 0 0; font-weight: 600; }
header label { font-size: .9rem; }
header select { font-size: .95rem; }
#formats { display: flex; gap: .25rem; }
#formats button { font: inherit; font-size: .9rem; padding: .3rem .7rem; border: 0;
  border-radius: .3rem; background: #3b5266; color: #fff; cursor: pointer; }
#formats button[aria-pressed="true"] { background: #fff; color: #20303f; }
#status { margin-left: auto; font-size: .8rem; opacity: .85; }
#problems { position: fixed; top: var(--bar); inset-inline: 0; z-index: 3; margin: 0;
  padding: .8rem 1rem; background: #fff0f0f2; border-bottom: 3px solid #b00020;
  color: #6d0015; }
#problems[hidden] { display: none; }
#problems h2 { font-size: 1rem; margin: 0 0 .4rem; }
#problems pre { margin: 0; white-space: pre-wrap; font-size: .9rem; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 22rem; gap: 1.5rem;
  padding: calc(var(--bar) + 1rem) 1.5rem 2rem; }
#pages img { display: block; max-width: 100%; height: auto; margin: 0 auto 1rem;
  background: #fff; box-shadow: 0 1px 4px #0004; }
#note { background: #fff; padding: 1rem; border-radius: .3rem; }
#email { background: #fff; padding: 1rem 1.5rem; box-shadow: 0 1px 4px #0004; }
#email dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
#email dt { font-weight: 600; } #email dd { margin: 0; }
#email pre { white-space: pre-wrap; font-family: ui-monospace, monospace; }
aside { position: sticky; top: calc(var(--bar) + 1rem); align-self: start;
  max-height: calc(100vh - var(--bar) - 2rem); overflow: auto; background: #fff;
  padding: 1rem; border-radius: .3rem; font-size: .9rem; }
aside h2 { font-size: 1rem; margin: 0 0 .5rem; }
aside dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
aside dt { font-weight: 600; } aside dd { margin: 0; }
aside ol { padding-left: 1.2rem; } aside li { margin-bottom: .4rem; }
mark { background: #ffe680; }
"""

SCRIPT = """
const $ = (id) => document.getElementById(id);
let state = null, format = 'pdf', shown = null;

function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

function images(list, alt) {
  // keep one <img> per page and change only its src: the layout (and so the scroll
  // position) stays as it is
  const box = $('pages');
  while (box.children.length > list.length) box.lastElementChild.remove();
  list.forEach((p, i) => {
    let img = box.children[i];
    if (!img) { img = document.createElement('img'); box.appendChild(img); }
    img.width = p.width; img.height = p.height;
    img.alt = `${alt}: page ${i + 1} of ${list.length}`;
    if (img.getAttribute('src') !== p.src) img.setAttribute('src', p.src);
  });
}

async function showDocx(view) {
  const key = `docx:${view.id}`;
  if (shown === key) return;
  shown = key;
  images([], '');
  $('note').hidden = false;
  setText($('note'), 'LibreOffice is laying out the DOCX…');
  const r = await fetch(`/api/docx/${view.id}`, {method: 'POST', headers: writing});
  const d = await r.json();
  if (shown !== key) return;
  $('note').hidden = !d.note;
  setText($('note'), d.note || '');
  images(d.pages, `The DOCX of the letter to ${view.candidate}, as LibreOffice lays it out`);
}

function showEmail(view) {
  const box = $('email');
  box.replaceChildren();
  if (!view.email) { box.textContent = 'This preview renders no e-mail.'; return; }
  const dl = document.createElement('dl');
  for (const [k, v] of view.email.headers) {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    dl.append(dt, dd);
  }
  if (view.email.attachments.length) {
    const dt = document.createElement('dt'); dt.textContent = 'Attached';
    const dd = document.createElement('dd'); dd.textContent = view.email.attachments.join(', ');
    dl.append(dt, dd);
  }
  const pre = document.createElement('pre'); pre.textContent = view.email.text;
  box.append(dl, pre);
}

function showSent(view) {
  // what became of the letter once sent (letterforge replies), from the batch
  const rows = view.sent || [];
  $('after-sending').hidden = rows.length === 0;
  $('sent-facts').replaceChildren(...rows.flatMap(([label, value]) => {
    const dt = document.createElement('dt'); dt.textContent = label;
    const dd = document.createElement('dd'); dd.textContent = value;
    return [dt, dd];
  }));
}

function showFacts(view) {
  showSent(view);
  const f = view.facts;
  setText($('fact-pages'), String(f.pages));
  setText($('fact-words'), String(f.words));
  const varying = f.sentences.filter((s) => s.varies);
  setText($('fact-varying'), f.compared_with
    ? `${varying.length} (compared with the letter to ${f.compared_with})`
    : 'only one candidate: nothing to compare with');
  const ol = $('varying');
  ol.replaceChildren(...varying.map((s) => {
    const li = document.createElement('li');
    const mark = document.createElement('mark'); mark.textContent = s.text;
    li.appendChild(mark); return li;
  }));
}

function render() {
  const s = state;
  document.body.dataset.revision = s.revision;
  const sel = $('candidate');
  const opts = s.candidates.map((c) => `${c.slug}\\t${c.name}`).join('\\n');
  if (sel.dataset.opts !== opts) {
    sel.replaceChildren(...s.candidates.map((c) => new Option(c.name, c.slug)));
    sel.dataset.opts = opts;
  }
  if (s.selected) sel.value = s.selected;
  const problems = $('problems');
  problems.hidden = s.problems.length === 0;
  setText($('problem-list'), s.problems.join('\\n'));
  setText($('problem-count'), s.problems.length === 1 ? '1 problem: the page shows the last '
    + 'good rendering' : `${s.problems.length} problems: the page shows the last good rendering`);
  const view = s.view;
  for (const b of document.querySelectorAll('#formats button'))
    b.setAttribute('aria-pressed', String(b.dataset.format === format));
  setText($('status'), view ? `${view.candidate} · rendered ${view.rendered_at} · revision `
    + s.revision : `revision ${s.revision}`);
  if (!view) { images([], ''); return; }
  document.title = `${view.candidate}: letterforge preview ${s.year}`;
  showFacts(view);
  $('email').hidden = format !== 'eml';
  $('pages').hidden = format === 'eml';
  if (format === 'pdf') {
    shown = `pdf:${view.id}`; $('note').hidden = true;
    images(view.pages, `The letter to ${view.candidate} (PDF)`);
  } else if (format === 'docx') {
    showDocx(view);
  } else {
    shown = `eml:${view.id}`; $('note').hidden = true; showEmail(view);
  }
}

// what the server asks of every request that changes something or does heavy work
const writing = {'Content-Type': 'application/json',
                 'X-Letterforge-Token': document.body.dataset.token};

async function load() {
  const r = await fetch('/api/state');
  state = await r.json();
  render();
}

$('candidate').addEventListener('change', async (e) => {
  setText($('status'), 'rendering…');
  const r = await fetch('/api/candidate', {method: 'POST', headers: writing,
    body: JSON.stringify({slug: e.target.value})});
  state = await r.json();
  window.scrollTo(0, 0);
  render();
});
for (const b of document.querySelectorAll('#formats button'))
  b.addEventListener('click', () => { format = b.dataset.format; render(); });

const events = new EventSource('/events');
events.addEventListener('revision', (e) => {
  const rev = JSON.parse(e.data).revision;
  if (!state || rev !== state.revision) load();
});
load();
"""


def html(year: int, token: str = "") -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>letterforge preview {year}</title>
<style>{STYLE}</style>
</head>
<body data-revision="0" data-token="{escape(token)}">
<header>
  <h1>letterforge preview {escape(str(year))}</h1>
  <label>Letter to <select id="candidate" aria-label="Candidate"></select></label>
  <div id="formats" role="group" aria-label="Format">
    <button type="button" data-format="pdf" aria-pressed="true">PDF</button>
    <button type="button" data-format="docx" aria-pressed="false">DOCX</button>
    <button type="button" data-format="eml" aria-pressed="false">E-mail</button>
  </div>
  <span id="status" aria-live="polite">loading…</span>
</header>
<section id="problems" role="alert" hidden>
  <h2 id="problem-count"></h2>
  <pre id="problem-list"></pre>
</section>
<main>
  <div>
    <p id="note" hidden></p>
    <div id="pages"></div>
    <div id="email" hidden></div>
  </div>
  <aside aria-label="Facts">
    <h2>Facts</h2>
    <dl>
      <dt>Pages</dt><dd id="fact-pages">–</dd>
      <dt>Words</dt><dd id="fact-words">–</dd>
      <dt>Varying</dt><dd id="fact-varying">–</dd>
    </dl>
    <h2>Sentences that vary per candidate</h2>
    <ol id="varying"></ol>
    <section id="after-sending" hidden>
      <h2>Since it was sent</h2>
      <dl id="sent-facts"></dl>
    </section>
  </aside>
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""
