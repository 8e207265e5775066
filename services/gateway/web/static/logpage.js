// logpage.js — runs the exchange log's checks in the resident's browser (see logverify.js).
//
// It fetches the same page of the log as evidence (/api/log with the page's filters), the keys
// pinned in this browser (first visit: /.well-known/mynumber-log-keys, then compared on every
// visit), and the checkpoint kept from the last visit (localStorage), and marks every row
// "verified on this device", "pending inclusion" or a red failure.

import { verifyLog, toBase64 } from "/static/logverify.js";

const KEYS_URL = "/.well-known/mynumber-log-keys";
const PINNED = "mynumber.log.pinned-keys";
const KEPT = "mynumber.log.kept-checkpoint";
const en = document.documentElement.lang.startsWith("en");
const say = {
  verified: en ? "✔ Verified on this device" : "✔ この端末で検証済み",
  pending: en ? "… Pending inclusion" : "… 取り込み待ち",
  failed: en ? "✘ Failed on this device" : "✘ この端末で検証できません",
  missing: en ? "no evidence was sent for this entry" : "この記録の証拠が送られていません",
  keysChanged: en
    ? "the log's published keys differ from the keys this browser pinned"
    : "公開されている鍵が、この端末に保存した鍵と異なります",
  checked: en ? "Checked on this device" : "この端末で確認",
  entries: en ? "entries" : "件",
  witnesses: en ? "witnesses" : "証人",
  consistent: en ? "consistent with the checkpoint kept from your last visit, size"
    : "前回保存したチェックポイントと整合 (件数",
  firstVisit: en ? "first visit: checkpoint kept in this browser"
    : "初回: チェックポイントをこの端末に保存しました",
  alarm: en ? "WARNING: the exchange log did not verify on this device:"
    : "警告: やりとり履歴をこの端末で検証できませんでした:",
};

function mark(row, status, detail) {
  const cell = row.querySelector("td.device");
  if (!cell) return;
  cell.dataset.status = status;
  cell.textContent = "";
  const span = document.createElement("span");
  span.className = status === "verified" ? "ok" : status === "pending" ? "muted" : "bad";
  span.textContent = say[status];
  cell.append(span);
  if (detail) {
    const small = document.createElement("small");
    small.className = "bad device-error";
    small.textContent = ` (${detail})`;
    cell.append(small);
  }
}

async function pinnedKeys() {
  const response = await fetch(KEYS_URL, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${KEYS_URL}: HTTP ${response.status}`);
  const published = await response.json();
  const pinned = localStorage.getItem(PINNED);
  if (!pinned) {
    localStorage.setItem(PINNED, JSON.stringify(published));
    return published;
  }
  const trust = JSON.parse(pinned);
  if (trust.log !== published.log || JSON.stringify(trust.witnesses) !== JSON.stringify(published.witnesses)) {
    throw new Error(say.keysChanged);
  }
  return trust;
}

async function check() {
  const summary = document.getElementById("device-summary");
  const rows = [...document.querySelectorAll("table.log tbody tr[data-index]")];
  if (!summary) return;
  const kept = JSON.parse(localStorage.getItem(KEPT) || "null");
  const params = new URLSearchParams(location.search);
  params.delete("lang");
  if (kept && kept.size > 0) params.set("since_size", String(kept.size));
  params.set("include_pending", "true");
  let result;
  try {
    const trust = await pinnedKeys();
    const response = await fetch(`/api/log?${params}`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`/api/log: HTTP ${response.status}`);
    result = await verifyLog(await response.json(), trust, kept);
  } catch (error) {
    result = { fault: error.message, rows: [] };
  }
  summary.textContent = "";
  summary.dataset.status = result.fault ? "failed" : "verified";
  if (result.fault) {
    summary.className = "checkpoint bad";
    summary.setAttribute("role", "alert");
    summary.textContent = `${say.alarm} ${result.fault}`;
    for (const row of rows) mark(row, "failed", result.fault);
    return;
  }
  const byIndex = new Map(result.rows.map((r) => [String(r.index), r]));
  let allGood = true;
  for (const row of rows) {
    const found = byIndex.get(row.dataset.index);
    if (!found) {
      allGood = false;
      mark(row, "failed", say.missing);
    } else {
      if (found.status === "failed") allGood = false;
      mark(row, found.status, found.error);
    }
  }
  const cp = result.checkpoint;
  const root = toBase64(cp.root).slice(0, 12);
  const history = result.extendedFrom !== null
    ? `${say.consistent} ${result.extendedFrom}${en ? "" : ")"}`
    : say.firstVisit;
  summary.className = allGood ? "checkpoint ok" : "checkpoint bad";
  summary.textContent = `${say.checked}: ${cp.origin} ${cp.size} ${say.entries} (root ${root}…) · ` +
    `${say.witnesses} ${result.cosigners.join(", ")} · ${history}`;
  summary.dataset.size = String(cp.size);
  summary.dataset.witnesses = result.cosigners.join(",");
  if (allGood && (!kept || cp.size >= kept.size)) {
    localStorage.setItem(KEPT, JSON.stringify({ size: cp.size, root: toBase64(cp.root) }));
  }
}

check();
