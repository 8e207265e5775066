// Myna Portal: passkeys (WebAuthn) with the browser's own API, same origin only.
"use strict";
(function () {
  const headers = { "Content-Type": "application/json", "Accept": "application/json" };

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST", headers, credentials: "same-origin", body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error((data.error && data.error.message) || String(response.status));
    }
    return data;
  }

  async function register(button, status) {
    status.textContent = "";
    try {
      const start = await post("/api/passkeys/register/options");
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(start.options);
      const credential = await navigator.credentials.create({ publicKey });
      // The registry registers the passkey only with the card's approval of this registration.
      const approval = await window.mynaApprove("register_passkey", start.approve);
      await post("/api/passkeys", {
        challenge_id: start.challenge_id, credential: credential.toJSON(), step_up: { challenge_id: approval },
      });
      status.textContent = button.dataset.done;
      status.dataset.state = "registered";
    } catch (e) {
      status.textContent = button.dataset.failed + " " + e.message;
      status.dataset.state = "failed";
    }
  }

  async function login(button, status) {
    status.textContent = "";
    try {
      const start = await post("/api/passkeys/login/options");
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(start.options);
      const credential = await navigator.credentials.get({ publicKey });
      await post("/api/passkeys/login", { challenge_id: start.challenge_id, credential: credential.toJSON() });
      window.location.assign("/me");
    } catch (e) {
      status.textContent = button.dataset.failed + " " + e.message;
      status.dataset.state = "failed";
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const reg = document.getElementById("passkey-register");
    if (reg) reg.addEventListener("click", () => register(reg, document.getElementById("passkey-status")));
    const log = document.getElementById("passkey-login");
    if (log) log.addEventListener("click", () => login(log, document.getElementById("passkey-login-status")));
  });
})();
