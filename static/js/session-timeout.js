// Warns a signed-in person before their idle session ends, and takes them to the
// sign-in page when it has. The server ends a session SESSION_IDLE_TIMEOUT seconds
// after its last request; <body> says how long that is (data-session-timeout) and
// how early to warn (data-session-warning), both in seconds.
//
// Every request the person makes restarts the count: loading a page, an htmx
// request, the "Stay signed in" button. A page's background polls (sent with the
// X-Clinic-Poll header) do not, on the server either, so an unattended screen
// still signs out. Pages of the site open in other tabs share the last request's
// time through localStorage, so one busy tab keeps the others quiet.
(() => {
  const body = document.body;
  const timeout = Number(body.dataset.sessionTimeout) * 1000;
  if (!timeout) return; // Nobody is signed in.
  const lead = Number(body.dataset.sessionWarning) * 1000 || 120000;
  const keepaliveUrl = body.dataset.sessionKeepaliveUrl;
  const loginUrl = body.dataset.sessionLoginUrl;
  const warning = document.getElementById("session-warning");
  const text = warning.querySelector("[data-session-warning-text]");
  const KEY = "clinic.session.lastRequest";

  let lastRequest = Date.now();

  function sharedLastRequest() {
    try {
      return Math.max(lastRequest, Number(localStorage.getItem(KEY)) || 0);
    } catch {
      return lastRequest; // Storage refused (private mode): this tab alone.
    }
  }

  function requested() {
    lastRequest = Date.now();
    try {
      localStorage.setItem(KEY, String(lastRequest));
    } catch {
      // As above.
    }
    warning.hidden = true;
  }

  function signOut() {
    clearInterval(timer);
    const next = window.location.pathname + window.location.search;
    // If another tab kept the session alive, the sign-in page sends us straight back.
    window.location.assign(`${loginUrl}?next=${encodeURIComponent(next)}`);
  }

  function tick() {
    const left = sharedLastRequest() + timeout - Date.now();
    if (left <= 0) {
      signOut();
    } else if (left <= lead) {
      const minutes = Math.round(left / 60000);
      // The page holds the words in its language for each minute left (base.html).
      const words = warning.querySelector(`[data-session-warning-in="${minutes}"]`);
      const message = words ? words.textContent : text.textContent;
      // Changed only when the words change, so a screen reader hears it once a minute.
      if (text.textContent !== message) text.textContent = message;
      warning.hidden = false;
    } else {
      warning.hidden = true;
    }
  }

  async function stay() {
    try {
      // A signed-out session is sent to the sign-in page (a redirect), not 204.
      const response = await fetch(keepaliveUrl, { credentials: "same-origin" });
      if (response.status === 204) {
        requested();
        return;
      }
    } catch {
      // The network is down: let the countdown go on; the next tick decides.
      return;
    }
    signOut();
  }

  warning.querySelector("[data-session-stay]").addEventListener("click", stay);
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const headers = (event.detail.requestConfig && event.detail.requestConfig.headers) || {};
    if (headers["X-Clinic-Poll"]) return; // The page polling by itself.
    // Status 0: the request never reached the server.
    if (event.detail.xhr && event.detail.xhr.status > 0) requested();
  });
  requested();
  const timer = setInterval(tick, 1000);
})();
