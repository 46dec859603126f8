// partita's only script: follows a running task's log over server-sent events
// (the API's /logs/stream), follows a running run's states (its graph, task rows and
// badge) over server-sent events, opens or closes task groups of a graph in place, and on
// the launchpad checks that the run config parses and copies the config fields into it.
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

// The graph box: group links swap the picture in place; a running run's states arrive
// over server-sent events and recolour the nodes, the task rows and the run's badge.
let liveSource = null;

function setState(element, prefix, state) {
  for (const name of [...element.classList]) {
    if (name.startsWith("st-")) element.classList.remove(name);
  }
  element.classList.add(prefix + state);
}

function applyStates(box, data) {
  const badge = document.getElementById("run-state");
  if (badge) {
    setState(badge, "st-", data.run);
    badge.textContent = data.run;
  }
  for (const node of box.querySelectorAll("[data-node]")) {
    const known = data.nodes[node.dataset.node];
    if (!known) continue;
    const rect = node.querySelector("rect");
    setState(rect, "st-", known[0]);
    const title = rect.querySelector("title");
    if (title) title.textContent = known[1];
  }
  for (const row of document.querySelectorAll("tr[data-task]")) {
    const known = data.tasks[row.dataset.task];
    if (!known) continue;
    const square = row.querySelector("td.state .sq");
    if (square) setState(square, "st-", known[0]);
    const text = row.querySelector("td.state .state-text");
    if (text) text.textContent = text.hasAttribute("data-summary") ? known[1] : known[0];
  }
}

function followRun(box) {
  if (liveSource) liveSource.close();
  liveSource = null;
  if (!box.dataset.stream) return;
  const status = document.getElementById("live-status");
  liveSource = new EventSource(box.dataset.stream);
  liveSource.addEventListener("states", (event) => {
    const data = JSON.parse(event.data);
    const current = document.getElementById("graph-box") || box;
    if (data.shape !== current.dataset.shape) {
      liveSource.close(); // new tasks or the DAG's version: the page draws them anew
      window.location.reload();
      return;
    }
    applyStates(current, data);
  });
  liveSource.addEventListener("end", (event) => {
    liveSource.close();
    const state = JSON.parse(event.data).state;
    if (status) status.textContent = "the run ended: " + state;
    setTimeout(() => window.location.reload(), 1000);
  });
  liveSource.onerror = () => {
    if (status) status.textContent = "live updates stopped; reload the page";
    liveSource.close();
  };
}

function swapGraph(event) {
  const link = event.target.closest("a[data-graph-link]");
  const box = document.getElementById("graph-box");
  if (!link || !box || !box.contains(link)) return;
  event.preventDefault();
  const target = new URL(link.getAttribute("href"), window.location.href);
  fetch(box.dataset.fragment + target.search, { credentials: "same-origin" })
    .then((response) => {
      if (!response.ok) throw new Error(String(response.status));
      return response.text();
    })
    .then((html) => {
      box.outerHTML = html;
      window.history.replaceState(null, "", target.pathname + target.search);
      const fresh = document.getElementById("graph-box");
      if (fresh) followRun(fresh);
    })
    .catch(() => {
      window.location.href = target.href; // the page itself does the same without a script
    });
}

// The launchpad: the run-config editor must hold a JSON object (the browser refuses to
// send it otherwise), and a config field's value is written into the editor as it changes.
function checkRunConfig(editor) {
  let message = "";
  try {
    const value = JSON.parse(editor.value || "{}");
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      message = "the run config must be a JSON object";
    }
  } catch (error) {
    message = "the run config is not valid JSON: " + error.message;
  }
  editor.setCustomValidity(message);
  return message === "";
}

function fieldValue(input) {
  const text = input.value.trim();
  if (input.dataset.kind === "integer" || input.dataset.kind === "number") return Number(text);
  if (input.dataset.kind === "boolean") return text === "true";
  if (input.dataset.kind === "text") return input.value;
  try {
    return JSON.parse(text);
  } catch (error) {
    return text;
  }
}

function copyField(editor, input) {
  if (!checkRunConfig(editor) || input.value.trim() === "") return;
  const cut = input.dataset.config.lastIndexOf(".");
  const task = input.dataset.config.slice(0, cut);
  const runConfig = JSON.parse(editor.value || "{}");
  const tasks = (runConfig.tasks = runConfig.tasks || {});
  const entry = (tasks[task] = tasks[task] || {});
  const config = (entry.config = entry.config || {});
  config[input.dataset.config.slice(cut + 1)] = fieldValue(input);
  editor.value = JSON.stringify(runConfig, null, 2);
}

function followLaunchpad(editor) {
  editor.addEventListener("input", () => checkRunConfig(editor));
  for (const input of document.querySelectorAll("[data-config]")) {
    input.addEventListener("change", () => copyField(editor, input));
  }
  checkRunConfig(editor);
}

document.addEventListener("DOMContentLoaded", () => {
  const editor = document.querySelector("textarea[data-json]");
  if (editor) followLaunchpad(editor);
  const box = document.getElementById("graph-box");
  if (box) {
    document.addEventListener("click", swapGraph);
    followRun(box);
  }
  const pre = document.querySelector("pre[data-stream]");
  if (pre) {
    followLog(pre);
    return; // the end of the try reloads the page
  }
  const marker = document.getElementById("live-reload");
  if (marker) refreshWhileRunning(marker);
});
