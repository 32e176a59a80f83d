// Banshi staff console: the queue display's live board and the optional
// camera scan of check-in codes. No inline scripts; CSP allows 'self' only.
(function () {
  "use strict";

  // Queue display: swap in each board the server sends.
  function startBoard() {
    var root = document.getElementById("board");
    if (!root || !window.EventSource) { return; }
    var es = new EventSource(root.getAttribute("data-events"));
    es.addEventListener("board", function (e) {
      var cur = document.getElementById("board-content");
      if (!cur) { return; }
      var tpl = document.createElement("template");
      tpl.innerHTML = e.data;
      var next = tpl.content.firstElementChild;
      if (next) { cur.replaceWith(next); }
    });
  }

  // Check-in: scan a QR code with the camera where BarcodeDetector exists.
  function startScan() {
    var btn = document.getElementById("scan");
    var input = document.getElementById("code");
    var form = document.getElementById("checkin-form");
    var video = document.getElementById("scan-video");
    if (!btn || !input || !form || !video) { return; }
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
        video.srcObject = stream;
        video.hidden = false;
        video.play();
        var stop = function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          video.hidden = true;
        };
        var tick = function () {
          detector.detect(video).then(function (codes) {
            if (codes.length > 0) {
              stop();
              input.value = codes[0].rawValue;
              form.requestSubmit();
              return;
            }
            window.requestAnimationFrame(tick);
          }, function () { stop(); });
        };
        tick();
      }, function () { /* no camera or refused: typing still works */ });
    });
  }

  // Today's list: the 5 s refresh never extends the staff session (the
  // server only checks it), and it stops after 10 minutes without keyboard
  // or pointer input, so an unattended console does not keep reading (and
  // auditing) the list; the next input resumes it (and an expired session
  // then goes to the login page).
  var idleLimit = 10 * 60 * 1000;
  var lastInput = Date.now();
  function pausePolling() {
    ["keydown", "pointerdown", "wheel", "touchstart"].forEach(function (name) {
      document.addEventListener(name, function () { lastInput = Date.now(); }, { passive: true, capture: true });
    });
    document.addEventListener("htmx:beforeRequest", function (e) {
      if (Date.now() - lastInput > idleLimit) { e.preventDefault(); }
    });
  }

  // A form posted with an expired session lands on the login page. What was
  // typed is kept in this tab (sessionStorage; never passwords, hidden
  // fields or the CSRF token) and put back into the same form when the
  // person is back on that page after logging in (the server sends them
  // back there); any other page load forgets it. Nothing is re-submitted:
  // the person checks and sends it again.
  var keptKey = "banshi-console-typed";
  function keepTyped() {
    var onLogin = window.location.pathname === "/console/login";
    var store = window.sessionStorage;
    if (!store) { return; }
    document.addEventListener("submit", function (e) {
      var f = e.target;
      if (onLogin || !f.id || (f.getAttribute("method") || "").toLowerCase() !== "post") { return; }
      var values = {};
      Array.prototype.forEach.call(f.elements, function (el) {
        if (!el.name || el.type === "password" || el.type === "hidden" || el.type === "file" ||
            el.type === "submit" || el.type === "button") { return; }
        if ((el.type === "checkbox" || el.type === "radio") && !el.checked) { return; }
        values[el.name] = el.value;
      });
      try {
        store.setItem(keptKey, JSON.stringify({ path: window.location.pathname, form: f.id, values: values, login: false }));
      } catch (err) { /* storage full or off: nothing kept */ }
    }, true);
    var kept = null;
    try { kept = JSON.parse(store.getItem(keptKey) || "null"); } catch (err) { kept = null; }
    if (!kept) { return; }
    if (onLogin) {
      kept.login = true;
      try { store.setItem(keptKey, JSON.stringify(kept)); } catch (err) { /* ignore */ }
      return;
    }
    store.removeItem(keptKey);
    if (!kept.login || kept.path !== window.location.pathname) { return; }
    var form = document.getElementById(kept.form);
    if (!form) { return; }
    var first = null;
    Object.keys(kept.values).forEach(function (name) {
      var el = form.elements.namedItem(name);
      if (!el || el.length !== undefined && el.tagName !== "SELECT" || el.type === "hidden") { return; }
      if (el.tagName === "SELECT" || !el.value) {
        el.value = kept.values[name];
        first = first || el;
      }
    });
    if (first) { first.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    startBoard();
    startScan();
    pausePolling();
    keepTyped();
  });
})();
