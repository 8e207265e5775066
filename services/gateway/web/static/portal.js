// Myna Portal: the login poll, and card approval (step-up) before sensitive actions.
"use strict";
(function () {
  const i18n = document.getElementById("i18n");
  const say = (key) => (i18n ? i18n.dataset[key] : key) || key;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const jsonHeaders = { "Content-Type": "application/json", "Accept": "application/json" };

  async function pollLogin(status) {
    const body = JSON.stringify({ challenge_id: status.dataset.challenge, poll_secret: status.dataset.poll });
    for (;;) {
      await sleep(1000);
      let response;
      try {
        response = await fetch("/api/login/poll", { method: "POST", headers: jsonHeaders, body, credentials: "same-origin" });
      } catch (e) { continue; }
      if (response.status === 200) { window.location.assign("/me"); return; }
      if (response.status === 202) { continue; }
      status.textContent = say("expired");
      await sleep(1500);
      window.location.reload();
      return;
    }
  }

  function readForm(form) {
    const fields = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "submit") continue;
      if (el.dataset.type === "list") {
        fields[el.name] = fields[el.name] || [];
        if (el.checked) fields[el.name].push(el.value);
      } else if (el.dataset.type === "int") {
        fields[el.name] = parseInt(el.value, 10);
      } else {
        fields[el.name] = el.value;
      }
    }
    return fields;
  }

  async function errorText(response) {
    try { const data = await response.json(); return (data.error && data.error.message) || JSON.stringify(data.detail || data); }
    catch (e) { return response.statusText; }
  }

  async function approve(action, fields) {
    const response = await fetch("/api/step-up", { method: "POST", headers: jsonHeaders, credentials: "same-origin", body: JSON.stringify({ action, fields }) });
    if (!response.ok) throw new Error(await errorText(response));
    const challenge = await response.json();
    const dialog = document.getElementById("stepup");
    const status = document.getElementById("stepup-status");
    document.getElementById("stepup-code").textContent = challenge.code;
    document.getElementById("stepup-number").textContent = challenge.match_number;
    document.getElementById("stepup-command").textContent = "mynumber card approve " + challenge.code + " --number " + challenge.match_number + " --card CARD_FILE --pin ****";
    dialog.hidden = false;
    let cancelled = false;
    const cancel = document.getElementById("stepup-cancel");
    cancel.onclick = () => { cancelled = true; dialog.hidden = true; };
    cancel.focus();
    try {
      for (;;) {
        await sleep(1000);
        if (cancelled) throw new Error("cancelled");
        const poll = await fetch("/api/step-up/" + encodeURIComponent(challenge.challenge_id), { credentials: "same-origin" });
        if (!poll.ok) throw new Error(await errorText(poll));
        const state = (await poll.json()).status;
        if (state === "approved") { status.textContent = say("approved"); return challenge.challenge_id; }
        if (state !== "pending") throw new Error(say("expired"));
      }
    } finally {
      dialog.hidden = true;
    }
  }

  // passkeys.js asks for the card's approval of a passkey registration the same way.
  window.mynaApprove = approve;

  async function submitAction(form) {
    const result = form.querySelector(".result") || document.querySelector(".result");
    const fields = readForm(form);
    try {
      const challengeId = await approve(form.dataset.action, fields);
      const headers = Object.assign({}, jsonHeaders);
      if (form.dataset.idempotent) headers["Idempotency-Key"] = "web-" + challengeId;
      const response = await fetch(form.dataset.endpoint, {
        method: form.dataset.method || "POST", headers, credentials: "same-origin",
        body: JSON.stringify(Object.assign({}, fields, { step_up: { challenge_id: challengeId } })),
      });
      if (!response.ok) throw new Error(await errorText(response));
      const data = await response.json();
      if (result) {
        result.className = "result ok";
        result.textContent = say("done") + (form.dataset.show && data[form.dataset.show] ? " " + data[form.dataset.show] : "");
      }
      if (!form.dataset.show) { await sleep(800); window.location.reload(); }
    } catch (e) {
      if (result) { result.className = "result error"; result.textContent = say("error") + ": " + e.message; }
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const status = document.getElementById("login-status");
    if (status && status.dataset.challenge) pollLogin(status);
    for (const form of document.querySelectorAll("form.action-form")) {
      form.addEventListener("submit", (event) => { event.preventDefault(); submitAction(form); });
    }
  });
})();
