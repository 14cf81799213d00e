// What every page shares: the API key kept in this browser, calls to the REST API with it,
// messages for people, images and downloads fetched with the key, and following a job live.
"use strict";

const Farm = (() => {
  const KEY_NAME = "stylefarm.apiKey";
  const FINISHED = new Set(["succeeded", "failed", "canceled"]);
  const limits = JSON.parse(document.getElementById("farm-limits").textContent);

  class FarmError extends Error {
    constructor(message, status = 0, code = "network_error", details = null) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details;
    }
  }

  const key = () => localStorage.getItem(KEY_NAME);

  function headers(extra = {}) {
    return { Authorization: `Bearer ${key()}`, ...extra };
  }

  // The API's error body is {"error": code, "message": text, "status": n, "details": {...}}.
  async function errorFrom(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    const message = (body && body.message) || `${response.status} ${response.statusText}`;
    return new FarmError(message, response.status, (body && body.error) || "http_error", body && body.details);
  }

  async function request(path, { method = "GET", json, form, signal } = {}) {
    const init = { method, headers: headers(), signal };
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    } else if (form !== undefined) {
      init.body = form; // the browser sets the multipart boundary
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new FarmError(
        "The farm could not be reached; check the connection and try again" +
          " (files kept on S3 also need a CORS rule on the bucket that allows this site).",
      );
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async function api(path, options) {
    const response = await request(path, options);
    return response.status === 204 ? null : response.json();
  }

  // All pages of a list endpoint (offset pagination with next_offset).
  async function listAll(path) {
    const items = [];
    let offset = 0;
    while (offset !== null && offset !== undefined) {
      const sep = path.includes("?") ? "&" : "?";
      const page = await api(`${path}${sep}limit=200&offset=${offset}`);
      items.push(...page.items);
      offset = page.next_offset;
    }
    return items;
  }

  // Messages do not pile up: the same text replaces its earlier copy, and only the newest few stay.
  const MAX_MESSAGES = 3;
  function show(text, kind = "info") {
    const box = document.getElementById("messages");
    for (const earlier of box.querySelectorAll(".message")) {
      if (earlier.dataset.text === text) earlier.remove();
    }
    while (box.children.length >= MAX_MESSAGES) box.firstElementChild.remove();
    const item = document.createElement("div");
    item.dataset.text = text;
    item.className = `message ${kind}`;
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    item.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "link";
    close.textContent = "×";
    close.setAttribute("aria-label", "dismiss");
    close.addEventListener("click", () => item.remove());
    item.append(" ", close);
    box.append(item);
    setTimeout(() => item.remove(), kind === "error" ? 30000 : 8000);
  }

  function showError(err, context = "") {
    if (err && err.name === "AbortError") return;
    let text = err instanceof FarmError ? err.message : String(err && err.message ? err.message : err);
    if (err instanceof FarmError && err.status === 401) {
      text = `${text} — enter a valid API key.`;
      askForKey();
    } else if (err instanceof FarmError && err.status === 413) {
      text = `Too large: ${text}`;
    }
    show(context ? `${context}: ${text}` : text, "error");
  }

  // Images and files the API serves need the key, so <img src> cannot load them directly.
  // On S3 storage the API answers with a redirect to a presigned URL, which the browser may
  // follow only if the bucket allows this site (a CORS rule for GET).
  async function blobUrl(path) {
    const response = await request(path);
    return URL.createObjectURL(await response.blob());
  }

  async function download(path, filename) {
    const url = await blobUrl(path);
    const link = document.createElement("a");
    link.href = url;
    link.download = filename;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function parseEvents(buffer, onEvent) {
    // Server-sent events are separated by a blank line; returns what is left of an unfinished one.
    const blocks = buffer.split("\n\n");
    const rest = blocks.pop();
    for (const block of blocks) {
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) onEvent(event, data.join("\n"));
    }
    return rest;
  }

  // Follow a job: its event stream read with fetch (EventSource cannot send the key), reopened
  // when the server ends it early; if streaming fails, poll the job instead. onStall(seconds) is
  // called while an unfinished job has not changed for limits.follow_stall_s (running items change
  // with every heartbeat, so that means nothing moves it), and onStall(null) once it changes again.
  function watchJob(jobId, onJob, onStall = () => {}) {
    const controller = new AbortController();
    let finished = false;
    let lastDocument = null;
    let changedAt = Date.now();
    let stalled = false;
    const deliver = (job) => {
      if (controller.signal.aborted) return; // read before the page stopped following: stale
      onJob(job);
      const text = JSON.stringify(job);
      if (text !== lastDocument) {
        lastDocument = text;
        changedAt = Date.now();
        if (stalled) onStall(null);
        stalled = false;
      }
      if (FINISHED.has(job.status)) finished = true;
    };
    const stallTimer = setInterval(() => {
      if (finished || controller.signal.aborted) return clearInterval(stallTimer);
      const idle = (Date.now() - changedAt) / 1000;
      if (idle > limits.follow_stall_s) {
        stalled = true;
        onStall(Math.round(idle));
      }
    }, 1000);

    async function streamOnce() {
      const response = await request(`/v1/jobs/${jobId}/events`, { signal: controller.signal });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + value, (event, data) => {
          if (event === "job") deliver(JSON.parse(data));
          else if (event === "end") finished = true; // also when the job was deleted ("gone")
        });
      }
    }

    async function poll() {
      while (!finished && !controller.signal.aborted) {
        deliver(await api(`/v1/jobs/${jobId}`, { signal: controller.signal }));
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }

    (async () => {
      try {
        while (!finished && !controller.signal.aborted) await streamOnce();
      } catch (err) {
        if (err.name === "AbortError") return;
        if (err instanceof FarmError && err.status >= 400 && err.status < 500) return showError(err);
        try {
          await poll();
        } catch (pollErr) {
          showError(pollErr, "Following the job");
        }
      }
    })();
    return () => {
      clearInterval(stallTimer);
      controller.abort();
    };
  }

  function fileSizeProblem(file) {
    if (file.size > limits.max_upload_bytes) {
      return `${file.name} is ${file.size.toLocaleString()} bytes; the limit is ${limits.max_upload_bytes.toLocaleString()}`;
    }
    if (file.size === 0) return `${file.name} is empty`;
    return null;
  }

  // A drop area that also opens the file chooser; calls onFiles with the File objects.
  function dropZone(zone, input, onFiles) {
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      onFiles([...event.dataTransfer.files]);
    });
    zone.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") input.click();
    });
    input.addEventListener("change", () => {
      onFiles([...input.files]);
      input.value = "";
    });
  }

  // A style's picture: its thumbnail, or for a built-in without one a coloured tile with its number.
  function styleThumb(style) {
    const figure = document.createElement("div");
    figure.className = "thumb";
    if (style.thumbnail_url) {
      const img = document.createElement("img");
      img.alt = style.name;
      figure.append(img);
      blobUrl(style.thumbnail_url).then((url) => (img.src = url), () => figure.classList.add("missing"));
    } else {
      figure.classList.add("placeholder"); // swapped for the picture once there is one (fillThumbs)
      const hue = ((style.builtin_index ?? style.name.length) * 137) % 360;
      figure.style.background = `linear-gradient(135deg, hsl(${hue} 60% 55%), hsl(${(hue + 60) % 360} 55% 35%))`;
      figure.textContent = style.builtin_index !== null && style.builtin_index !== undefined ? `#${style.builtin_index}` : "…";
    }
    return figure;
  }

  // The styles a tenant can use; the first time built-ins lack pictures, a worker is asked for them.
  // Asked at most once a minute per tab, so moving between pages does not queue the work again.
  const SWATCHES_ASKED = "stylefarm.swatchesAskedAt";
  async function styles() {
    const all = await listAll("/v1/styles");
    const askedAt = Number(sessionStorage.getItem(SWATCHES_ASKED) || 0);
    if (Date.now() - askedAt > 60000 && all.some((style) => style.public && !style.thumbnail_url)) {
      sessionStorage.setItem(SWATCHES_ASKED, String(Date.now()));
      api("/v1/styles/builtin-swatches", { method: "POST" }).catch((err) => showError(err, "Style pictures"));
    }
    return all;
  }

  // Swap placeholders in ``container`` for pictures as they become available, without redrawing.
  async function fillThumbs(container, tries = 60) {
    if (container.dataset.filling) return;
    container.dataset.filling = "yes";
    const waiting = () => [...container.querySelectorAll("[data-style-id] .thumb.placeholder")];
    try {
      for (let i = 0; i < tries && waiting().length; i++) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const byId = new Map((await listAll("/v1/styles")).map((style) => [style.id, style]));
        for (const thumb of waiting()) {
          const style = byId.get(thumb.closest("[data-style-id]").dataset.styleId);
          if (style && style.thumbnail_url) thumb.replaceWith(styleThumb(style));
        }
      }
    } catch (err) {
      showError(err, "Style pictures");
    } finally {
      delete container.dataset.filling;
    }
  }

  function element(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    node.append(...children);
    return node;
  }

  function askForKey() {
    document.getElementById("key-gate").hidden = false;
    document.getElementById("content").hidden = true;
    document.getElementById("key-state").hidden = true;
  }

  const readyCallbacks = [];
  function unlock() {
    const current = key();
    document.getElementById("key-gate").hidden = true;
    document.getElementById("content").hidden = false;
    document.getElementById("key-state").hidden = false;
    document.getElementById("key-hint").textContent = `…${current.slice(-4)}`;
    for (const callback of readyCallbacks.splice(0)) callback();
  }

  // Run page code once a key is known (now, or after it has been entered and checked).
  function ready(callback) {
    readyCallbacks.push(callback);
    if (key()) unlock();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("key-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const candidate = document.getElementById("key-input").value.trim();
      if (!candidate) return;
      localStorage.setItem(KEY_NAME, candidate);
      try {
        await api("/v1/styles?limit=1"); // checks the key before the page uses it
        location.reload(); // the page starts again, now with a key
      } catch (err) {
        localStorage.removeItem(KEY_NAME);
        showError(err, "That key did not work");
      }
    });
    document.getElementById("key-forget").addEventListener("click", () => {
      localStorage.removeItem(KEY_NAME);
      location.reload();
    });
    if (!key()) askForKey();
  });

  return {
    FINISHED, FarmError, limits, api, request, listAll, show, showError, blobUrl, download, watchJob,
    fileSizeProblem, dropZone, styles, styleThumb, fillThumbs, element, ready,
  };
})();
