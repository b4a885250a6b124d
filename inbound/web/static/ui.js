// inbound web UI: live lists and traces (Server-Sent Events), "retry now", the rules editor,
// and "/" to search. Pages work without it; it only fetches pages the server renders (and
// escapes) and puts their parts in place.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);

function debounce(fn, ms) {
  let timer = null;
  return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
}

async function fetchPage(url) {
  const response = await fetch(url, { headers: { Accept: "text/html" }, cache: "no-store" });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  return response;
}

// A list: its rows again, with the page's own filters, whenever messages change.
function liveList(tbody) {
  const direction = tbody.dataset.live;
  const live = $("#live");
  const refresh = debounce(async () => {
    const url = new URL(location.href);
    url.searchParams.set("fragment", "rows");
    try {
      const response = await fetchPage(url);
      tbody.innerHTML = await response.text();
      $("#total").textContent = response.headers.get("X-Total-Count");
      live.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      live.textContent = `could not update: ${error.message}`;
    }
  }, 150);
  return (kind) => { if (kind === direction || kind === "reset") refresh(); };
}

// A message page: its trace again when this message changes.
function liveTrace(holder) {
  const id = holder.dataset.message;
  const refresh = debounce(async () => {
    const response = await fetchPage(location.pathname + location.search);
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("live-trace");
    if (fresh) {
      holder.replaceChildren(...fresh.childNodes);
      bindRetry();
    }
  }, 150);
  return (kind, messageId) => { if (kind === holder.dataset.direction && messageId === id) refresh(); };
}

function listen(handlers) {
  if (!handlers.length || !window.EventSource) return;
  const source = new EventSource("/ui/events");
  for (const kind of ["received", "sent", "reset"]) {
    source.addEventListener(kind, (event) => handlers.forEach((h) => h(kind, event.data)));
  }
}

function bindRetry() {
  const button = $("[data-retry]");
  if (!button) return;
  button.addEventListener("click", async () => {
    const status = $("#retry-status");
    button.disabled = true;
    status.textContent = "retrying…";
    const response = await fetch(button.dataset.retry, { method: "POST" });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      status.textContent = `retry started for ${body.retries.length} action(s)`;
    } else {
      status.textContent = `retry refused: ${body.error || response.status}`;
      button.disabled = false;
    }
  });
}

function bindRulesEditor() {
  const form = $("#rules-editor");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $("#rules-status");
    status.textContent = "saving…";
    const response = await fetch(form.dataset.put, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: $("#rules-document").value,
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      status.textContent = "saved";
      location.reload();
    } else {
      status.textContent = `not saved: ${body.code ? body.code + ": " : ""}${body.error || response.status}`;
    }
  });
}

document.addEventListener("keydown", (event) => {
  const search = $("#q");
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (event.key === "/" && search && !typing && !event.ctrlKey && !event.metaKey) {
    event.preventDefault();
    search.focus();
  }
});

const handlers = [];
const rows = $("tbody[data-live]");
if (rows) handlers.push(liveList(rows));
const trace = $("#live-trace");
if (trace) handlers.push(liveTrace(trace));
listen(handlers);
bindRetry();
bindRulesEditor();
