// partita's only script: follows a running task's log over server-sent events
// (the API's /logs/stream) and refreshes a running run's page until it ends.
"use strict";

function followLog(pre) {
  const source = new EventSource(pre.dataset.stream);
  const status = document.getElementById("log-status");
  source.addEventListener("line", (event) => {
    const line = JSON.parse(event.data);
    const span = document.createElement("span");
    span.className = "line lvl-" + String(line.level || "info").toLowerCase();
    span.textContent = line.message;
    pre.appendChild(span);
    pre.appendChild(document.createTextNode("\n"));
    pre.scrollTop = pre.scrollHeight;
  });
  source.addEventListener("end", (event) => {
    source.close();
    const state = JSON.parse(event.data).state;
    if (status) status.textContent = "The try ended: " + state + ".";
    setTimeout(() => window.location.reload(), 500);
  });
  source.onerror = () => {
    if (status) status.textContent = "The live log stopped; reload the page to see more.";
    source.close();
  };
}

function refreshWhileRunning(marker) {
  const seconds = Number(marker.dataset.seconds || "3");
  setTimeout(() => window.location.reload(), seconds * 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  const pre = document.querySelector("pre[data-stream]");
  if (pre) {
    followLog(pre);
    return; // the end of the try reloads the page
  }
  const marker = document.getElementById("live-reload");
  if (marker) refreshWhileRunning(marker);
});
