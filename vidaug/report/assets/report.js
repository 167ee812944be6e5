(function(){
"use strict";
const D = JSON.parse(document.getElementById("report-data").textContent);
const $ = (id) => document.getElementById(id);
const list = $("list"), pageInfo = $("page-info");
let page = 0;
function el(tag, cls, text){
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function num(x, d){ return (x === null || x === undefined) ? "—" : Number(x).toFixed(d === undefined ? 3 : d); }
function thumb(ci, small){
  const c = D.clips[ci];
  if (c.t < 0) return el("div", "nothumb" + (small ? " small" : ""), "no thumbnail");
  const img = el("img", "strip" + (small ? " small" : ""));
  img.loading = "lazy"; img.alt = c.id; img.title = c.id;
  img.src = "data:image/jpeg;base64," + D.thumbs[c.t];
  return img;
}
// the region where another clip sits, on each of the strip's frames
function boxed(img, box){
  const wrap = el("div", "thumbwrap");
  wrap.appendChild(img);
  const n = 4;
  for (let k = 0; k < n; k++){
    const r = el("div", "rbox");
    r.style.left = (100 * (k + box[0]) / n) + "%";
    r.style.width = (100 * (box[2] - box[0]) / n) + "%";
    r.style.top = (100 * box[1]) + "%";
    r.style.height = (100 * (box[3] - box[1])) + "%";
    wrap.appendChild(r);
  }
  return wrap;
}
function badge(kind, text){ return el("span", "badge b-" + kind, text); }
function fillLabels(){
  const sel = $("f-label");
  for (const l of D.labels){ const o = el("option", null, l); o.value = l; sel.appendChild(o); }
}
function val(id){ const e = $(id); return e ? (e.type === "checkbox" ? e.checked : e.value) : null; }

// ---- duplicates ----
function groupItems(){
  const lab = val("f-label"), q = (val("f-q") || "").toLowerCase(), leakOnly = val("f-leak");
  const min = parseFloat(val("f-min") || "0");
  let items = D.groups.map((g, i) => ({g: g, i: i}));
  items = items.filter(({g}) => {
    if (leakOnly && !g.leak) return false;
    if ((g.s === null ? 0 : g.s) < min) return false;
    if (lab && !g.m.some(m => D.clips[m.c].label === lab)) return false;
    if (q && !g.m.some(m => D.clips[m.c].id.toLowerCase().includes(q))) return false;
    return true;
  });
  const sort = val("f-sort");
  const key = {
    "score-desc": (a, b) => (b.g.s || 0) - (a.g.s || 0) || a.i - b.i,
    "score-asc": (a, b) => (a.g.s || 0) - (b.g.s || 0) || a.i - b.i,
    "size-desc": (a, b) => b.g.m.length - a.g.m.length || a.i - b.i,
    "id": (a, b) => a.i - b.i,
  }[sort];
  if (key) items.sort(key);
  return items;
}
function renderGroup(item){
  const g = item.g;
  const box = el("div", "group" + (g.leak ? " leak" : ""));
  box.dataset.group = String(item.i);
  const head = el("div", "ghead");
  head.appendChild(el("span", null, "group " + item.i));
  head.appendChild(el("span", "dim", g.m.length + " clips, max score " + num(g.s)));
  if (g.leak) head.appendChild(badge("leak", "leak across splits"));
  box.appendChild(head);
  const ms = el("div", "members");
  for (const m of g.m){
    const c = D.clips[m.c];
    const card = el("div", "member " + (m.keep ? "keep" : "drop") + (m.leak.length ? " leak" : ""));
    card.appendChild(m.box ? boxed(thumb(m.c, false), m.box) : thumb(m.c, false));
    const meta = el("div", "meta");
    meta.appendChild(badge(m.keep ? "keep" : "drop", m.keep ? "keep" : "drop"));
    meta.appendChild(el("span", "cid", c.id));
    if (c.label !== null) meta.appendChild(el("span", "lab", c.label));
    if (c.split !== null) meta.appendChild(el("span", "dim", "split " + c.split));
    meta.appendChild(el("span", "dim", "score " + num(m.s)));
    card.appendChild(meta);
    if (m.rel) card.appendChild(el("div", "meta rel", m.rel));
    if (m.leak.length){
      const lw = el("div", "meta");
      lw.appendChild(badge("leak", "leak"));
      lw.appendChild(el("span", "cid", "with " + m.leak.map(x => D.clips[x].id + (D.clips[x].split !== null ? " (" + D.clips[x].split + ")" : "")).join(", ")));
      card.appendChild(lw);
    }
    ms.appendChild(card);
  }
  box.appendChild(ms);
  return box;
}

// ---- hard samples ----
function rowItems(){
  const lab = val("f-label"), q = (val("f-q") || "").toLowerCase(), flag = val("f-flag");
  const min = parseFloat(val("f-min") || "0");
  let items = D.rows.map((r, i) => ({r: r, i: i}));
  items = items.filter(({r}) => {
    const c = D.clips[r.c];
    if ((r.s === null ? 0 : r.s) < min) return false;
    if (lab && c.label !== lab) return false;
    if (q && !c.id.toLowerCase().includes(q)) return false;
    if (flag === "suspect" && !r.su) return false;
    if (flag === "hard" && !r.h) return false;
    if (flag === "outlier" && !r.o) return false;
    if (flag === "none" && (r.su || r.h || r.o)) return false;
    return true;
  });
  const key = {
    "score-desc": (a, b) => (b.r.s || 0) - (a.r.s || 0) || a.i - b.i,
    "score-asc": (a, b) => (a.r.s || 0) - (b.r.s || 0) || a.i - b.i,
    "suspect-desc": (a, b) => (b.r.ss || 0) - (a.r.ss || 0) || a.i - b.i,
    "outlier-desc": (a, b) => (b.r.os || 0) - (a.r.os || 0) || a.i - b.i,
    "label": (a, b) => String(D.clips[a.r.c].label).localeCompare(String(D.clips[b.r.c].label)) || a.i - b.i,
  }[val("f-sort")];
  if (key) items.sort(key);
  return items;
}
function renderRow(item){
  const r = item.r, c = D.clips[r.c];
  const box = el("div", "hard-row" + (r.su ? " suspect" : ""));
  box.dataset.rank = String(item.i + 1);
  box.appendChild(el("div", "rank", "#" + (item.i + 1)));
  const main = el("div");
  main.appendChild(thumb(r.c, false));
  const meta = el("div", "meta");
  meta.appendChild(el("span", "cid", c.id));
  const lab = el("span"); lab.appendChild(el("span", "dim", "label "));
  lab.appendChild(el("span", "lab", c.label)); meta.appendChild(lab);
  const le = D.kind === "label_errors";
  const pred = el("span"); pred.appendChild(el("span", "dim", le ? "suggested " : "seen as "));
  pred.appendChild(el("span", "lab", r.p)); meta.appendChild(pred);
  main.appendChild(meta);
  const sc = el("div", "meta");
  sc.appendChild(el("span", "dim", (le ? "label error " : "hard ") + num(r.s, 2)));
  const bar = el("span", "bar"); const fill = el("i");
  fill.style.width = Math.round(100 * Math.max(0, Math.min(1, r.s || 0))) + "%";
  bar.appendChild(fill); sc.appendChild(bar);
  if (le){
    sc.appendChild(el("span", "dim", "p(given) " + num(r.pg, 2) + ", p(suggested) " + num(r.ps, 2)));
    if (r.cf) sc.appendChild(badge("suspect", "duplicate of " + r.cf + " under another label"));
  } else {
    if (r.su) sc.appendChild(badge("suspect", "label suspect " + num(r.ss, 2)));
    if (r.o) sc.appendChild(badge("outlier", "outlier"));
    if (r.h) sc.appendChild(badge("hard", "hard"));
    sc.appendChild(el("span", "dim", "kNN disagreement " + num(r.kd, 2) + ", centroid margin " + num(r.cm, 2)));
  }
  main.appendChild(sc);
  box.appendChild(main);
  const nb = el("div", "nbrs");
  for (const [ci, s] of r.nb){
    const n = D.clips[ci];
    const f = el("figure", "nbr" + (n.label !== c.label ? " other" : ""));
    f.appendChild(thumb(ci, true));
    const cap = el("figcaption");
    cap.appendChild(el("span", "lab", n.label)); cap.appendChild(el("span", "dim", " " + num(s, 2) + " "));
    cap.appendChild(el("span", "cid", n.id));
    f.appendChild(cap); nb.appendChild(f);
  }
  box.appendChild(nb);
  return box;
}

function render(){
  const dedup = D.kind === "dedup";
  const items = dedup ? groupItems() : rowItems();
  const size = D.pageSize, pages = Math.max(1, Math.ceil(items.length / size));
  page = Math.max(0, Math.min(page, pages - 1));
  const shown = items.slice(page * size, (page + 1) * size);
  const frag = document.createDocumentFragment();
  for (const it of shown) frag.appendChild(dedup ? renderGroup(it) : renderRow(it));
  if (!shown.length) frag.appendChild(el("div", "empty", dedup ? "No duplicate groups match." : "No rows match."));
  list.replaceChildren(frag);
  const what = dedup ? "groups" : "clips";
  pageInfo.textContent = items.length
    ? (page * size + 1) + "–" + (page * size + shown.length) + " of " + items.length + " " + what + " (page " + (page + 1) + "/" + pages + ")"
    : "0 " + what;
  $("prev").disabled = page === 0; $("next").disabled = page >= pages - 1;
}
fillLabels();
for (const id of ["f-label", "f-sort", "f-flag", "f-leak", "f-min", "f-q"]){
  const e = $(id);
  if (e) e.addEventListener(e.tagName === "SELECT" || e.type === "checkbox" ? "change" : "input", () => { page = 0; render(); });
}
$("prev").addEventListener("click", () => { page--; render(); window.scrollTo(0, list.offsetTop - 60); });
$("next").addEventListener("click", () => { page++; render(); window.scrollTo(0, list.offsetTop - 60); });
render();
})();
