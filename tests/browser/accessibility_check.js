// A basic accessibility check run in the page (what axe would flag first, no download).
// Returns a list of problems; the browser tests expect it to be empty.
() => {
  const problems = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
    && getComputedStyle(el).visibility !== "hidden";
  const name = (el) => (el.getAttribute("aria-label") || "").trim()
    || (el.getAttribute("aria-labelledby") || "").split(/\s+/).map(
         (id) => (document.getElementById(id) || {}).textContent || "").join(" ").trim()
    || (el.textContent || "").trim() || (el.getAttribute("title") || "").trim()
    || Array.from(el.querySelectorAll("img[alt]")).map((i) => i.alt).join(" ").trim();
  const h1s = Array.from(document.querySelectorAll("h1")).filter(visible);
  if (h1s.length !== 1) problems.push(`expected one h1, found ${h1s.length}`);
  let previous = 0;
  for (const h of Array.from(document.querySelectorAll("h1,h2,h3,h4,h5,h6")).filter(visible)) {
    const level = Number(h.tagName[1]);
    if (previous && level > previous + 1) problems.push(`heading ${h.tagName} after h${previous}: ${h.textContent.trim()}`);
    previous = level;
  }
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden") continue;
    if (!(el.labels && el.labels.length) && !name(el)) problems.push(`unlabelled ${el.tagName} #${el.id || el.name}`);
  }
  for (const img of document.querySelectorAll("img")) if (!img.hasAttribute("alt")) problems.push(`img without alt: ${img.src}`);
  for (const el of document.querySelectorAll("button, a[href]")) if (!name(el)) problems.push(`unnamed ${el.tagName}: ${el.outerHTML.slice(0, 80)}`);
  for (const table of document.querySelectorAll("table")) {
    if (!table.querySelector("caption") && !table.getAttribute("aria-label") && !table.getAttribute("aria-labelledby")) problems.push("table without caption");
    for (const th of table.querySelectorAll("th")) if (!th.getAttribute("scope")) problems.push(`th without scope: ${th.textContent.trim()}`);
  }
  const ids = {};
  for (const el of document.querySelectorAll("[id]")) { if (ids[el.id]) problems.push(`duplicate id ${el.id}`); ids[el.id] = true; }
  const skip = document.querySelector("a.skip[href^='#']");
  if (!skip || !document.getElementById(skip.getAttribute("href").slice(1))) problems.push("no working skip link");
  // WCAG AA contrast of every visible text against the background it is painted on.
  const rgba = (text) => { const m = text.match(/[\d.]+/g) || [0, 0, 0, 0]; return m.map(Number).concat(m.length < 4 ? [1] : []); };
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = rgba(getComputedStyle(node).backgroundColor);
      if (c[3] > 0.5) return c;
    }
    return [255, 255, 255, 1];
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el) || !visible(el)) continue;
    seen.add(el);
    if (el.closest("[hidden], .visually-hidden, .skip, option")) continue;
    const style = getComputedStyle(el);
    const fg = rgba(style.color), bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) problems.push(`contrast ${ratio.toFixed(2)} < ${needed}: ${el.textContent.trim().slice(0, 40)}`);
  }
  return problems;
}
