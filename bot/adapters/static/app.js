// 易企办 web chat. No framework, no build step. Server text is only ever set with textContent.
// Outgoing messages wait in an in-memory queue and are sent one at a time, in order; a network
// error or a 5xx keeps the message queued and retries with backoff, so nothing typed is lost.
// Chosen files (📎) join the same queue and go to /api/uploads one by one, as the raw body.
(function () {
  "use strict";
  var TOKEN_KEY = "yiqiban.web.token";
  var POLL_MS = 3000;
  var MAX_FILE_BYTES = 20 * 1024 * 1024;  // as the server's limit
  var log = document.getElementById("log");
  var input = document.getElementById("input");
  var form = document.getElementById("composer");
  var statusEl = document.getElementById("status");
  var attach = document.getElementById("attach");
  var picker = document.getElementById("file");
  var queue = [];          // {body: object, row: element|null} or {file: File, row: element}
  var sending = false;
  var backoff = 1000;
  var lastTime = 0;
  var token = null;
  try { token = localStorage.getItem(TOKEN_KEY); } catch (e) { token = null; }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function stamp(when) {
    var t = when ? new Date(when) : new Date();
    if (isNaN(t.getTime())) t = new Date();
    if (t.getTime() - lastTime > 5 * 60 * 1000) {
      log.appendChild(el("div", "time", pad(t.getHours()) + ":" + pad(t.getMinutes())));
    }
    lastTime = t.getTime();
  }
  function scroll() { log.scrollTop = log.scrollHeight; }
  function setStatus(text) { statusEl.textContent = text || ""; }
  function note(text) { log.appendChild(el("div", "note", text)); scroll(); }

  function bubble(mine, text, when) {
    stamp(when);
    var row = el("div", "row" + (mine ? " me" : ""));
    row.appendChild(el("div", "avatar", mine ? "我" : "帮"));
    var body = el("div", "body");
    body.appendChild(el("div", "bubble", text));
    row.appendChild(body);
    log.appendChild(row);
    scroll();
    return row;
  }
  function botMessage(msg, when) {
    var row = bubble(false, msg.text, when);
    var buttons = Array.isArray(msg.buttons) ? msg.buttons : [];
    if (buttons.length) {
      var box = el("div", "buttons");
      buttons.forEach(function (b) {
        var btn = el("button", null, b.label);
        btn.type = "button";
        btn.addEventListener("click", function () { enqueue({ button: String(b.payload) }, b.label); });
        box.appendChild(btn);
      });
      row.querySelector(".body").appendChild(box);
      scroll();
    }
  }

  function request(method, path, headers, body) {
    if (token) headers.Authorization = "Bearer " + token;
    return fetch(path, { method: method, headers: headers, cache: "no-store", body: body })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (data) {
          return { status: res.status, data: data };
        });
      });
  }
  function api(method, path, body) {
    return request(method, path, { "Content-Type": "application/json" },
      body === undefined ? undefined : JSON.stringify(body));
  }
  function uploadFile(file) {
    return request("POST", "/api/uploads", {
      "Content-Type": file.type || "application/octet-stream",
      "X-File-Name": encodeURIComponent(file.name || "附件")
    }, file);
  }
  function newSession() {
    return api("POST", "/api/sessions").then(function (r) {
      if (r.status !== 201 || !r.data.token) throw new Error("session");
      token = r.data.token;
      try { localStorage.setItem(TOKEN_KEY, token); } catch (e) { /* private mode: memory only */ }
      queue.unshift({ body: { text: "开始" }, row: null });  // the welcome menu, without a bubble
    });
  }

  function enqueue(body, shown) {
    var row = bubble(true, shown);
    row.classList.add("pending");
    queue.push({ body: body, row: row });
    pump();
  }
  function retryLater() {
    setStatus("网络异常，正在重试…");
    setTimeout(pump, backoff);
    backoff = Math.min(backoff * 2, 30000);
  }
  function pump() {
    if (sending || (token && !queue.length)) return;  // no token yet: create the session now
    sending = true;
    var ready = token ? Promise.resolve() : newSession();
    ready.then(function () {
      var item = queue[0];
      if (item.file) setStatus("正在上传…");
      var sent = item.file ? uploadFile(item.file) : api("POST", "/api/messages", item.body);
      return sent.then(function (r) {
        if (r.status === 401) { token = null; return; }          // session gone: new one, resend
        if (r.status >= 500) throw new Error("server");
        queue.shift();
        if (item.row) item.row.classList.remove("pending");
        setStatus("");
        if (r.status !== 200) { note(r.data.error || "发送失败"); return; }
        backoff = 1000;
        (r.data.replies || []).forEach(function (m) { botMessage(m); });
      });
    }).then(function () {
      sending = false;
      pump();
    }, function () {
      sending = false;
      retryLater();
    });
  }

  function poll() {
    if (!token || sending) return;
    api("GET", "/api/messages/pending").then(function (r) {
      if (r.status === 200) (r.data.messages || []).forEach(function (m) { botMessage(m, m.at); });
    }, function () { /* offline: the next poll tries again */ });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    input.style.height = "";
    enqueue({ text: text }, text);
  });
  attach.addEventListener("click", function () { picker.click(); });
  picker.addEventListener("change", function () {
    Array.prototype.forEach.call(picker.files || [], function (file) {
      if (file.size > MAX_FILE_BYTES) { note("“" + file.name + "”超过 20 MB，无法发送。"); return; }
      if (!file.size) { note("“" + file.name + "”是空文件，无法发送。"); return; }
      var row = bubble(true, "［附件］" + file.name);
      row.classList.add("pending");
      queue.push({ file: file, row: row });
    });
    picker.value = "";  // choosing the same file again fires "change" again
    pump();
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });
  input.addEventListener("input", function () {
    input.style.height = "";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  });
  window.addEventListener("online", pump);

  if (!token) pump();
  setInterval(poll, POLL_MS);
})();
