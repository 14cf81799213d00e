// One job, live: progress from the job's event stream; each output beside its input (before/after),
// full size and downloadable under the one naming scheme; parameters, elapsed time, queue place and
// ETA; pause, resume, retry failed items, cancel.
"use strict";

Farm.ready(() => {
  const jobId = document.getElementById("job").dataset.jobId;
  const itemsBox = document.getElementById("items");
  const buttons = {
    pause: document.getElementById("pause-job"),
    resume: document.getElementById("resume-job"),
    retry: document.getElementById("retry-job"),
    cancel: document.getElementById("cancel-job"),
  };
  const zipButton = document.getElementById("download-zip");
  const elapsedNode = document.getElementById("job-elapsed");
  const queueNode = document.getElementById("job-queue");
  const itemNodes = new Map(); // item id -> {node, signature}
  const VIDEO_FORMATS = new Set(["mp4", "mov", "mkv", "webm"]);
  let current = null;

  function duration(seconds) {
    if (seconds < 90) return `${Math.round(seconds)} s`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }

  function itemNode(item) {
    const caption = Farm.element("figcaption", {},
      Farm.element("strong", { class: "style-name", text: item.style_name || item.style_label }),
      Farm.element("span", { class: "muted input-name", text: item.input_name ? ` · ${item.input_name}` : "" }), " ",
      Farm.element("span", { class: `badge ${item.status}`, text: item.status }));
    const node = Farm.element("figure", { class: "card item", "data-item-id": item.id, "data-status": item.status },
      caption, Farm.element("progress", { max: String(item.tiles_total || 1), value: String(item.tiles_done) }));
    if (item.error) node.append(Farm.element("p", { class: "error", text: item.error }));
    if (item.role === "segment") {
      node.classList.add("segment"); // a part of a video, joined by the video's join item
      caption.prepend(`segment ${item.position} · `);
      return node;
    }
    if (!item.download_url) return node;
    const isVideo = item.output && VIDEO_FORMATS.has(item.output.format);
    if (isVideo) {
      const video = Farm.element("video", { controls: "", muted: "", class: "result" });
      Farm.blobUrl(item.download_url).then((url) => (video.src = url), (err) => Farm.showError(err, "Loading a result"));
      node.insertBefore(video, caption);
    } else {
      const view = Compare.build(item);
      const full = Farm.element("a", { class: "button full-size", target: "_blank", rel: "noopener", text: "Full size" });
      Compare.load(item, view, full);
      node.insertBefore(view.box, caption);
      node.append(full);
    }
    const size = item.output ? `${item.output.width}×${item.output.height} ${item.output.format}` : "";
    const download = Farm.element("button", { type: "button", class: "download", text: `Download ${size}`,
      title: item.file_name || "" });
    download.addEventListener("click", () =>
      Farm.download(item.download_url, item.file_name).catch((err) => Farm.showError(err, "Download")));
    node.append(download);
    return node;
  }

  function showParams(job) {
    const list = document.getElementById("job-params-list");
    const names = [...new Set(job.items.filter((i) => i.role !== "segment").map((i) => i.style_name || i.style_label))];
    const rows = [["styles", names.join(", ")]];
    for (const [name, value] of Object.entries(job.params || {})) {
      if (name === "inputs" || name === "styles" || value === null || value === undefined) continue;
      rows.push([name, typeof value === "object" ? JSON.stringify(value) : String(value)]);
    }
    list.replaceChildren(...rows.flatMap(([name, value]) =>
      [Farm.element("dt", { text: name }), Farm.element("dd", { text: value })]));
  }

  function showElapsed() {
    if (!current || !current.started_at) return void (elapsedNode.textContent = current ? "not started" : "–");
    const end = current.finished_at ? new Date(current.finished_at) : new Date();
    elapsedNode.textContent = duration(Math.max(0, (end - new Date(current.started_at)) / 1000));
  }

  async function showQueue() {
    if (!current || Farm.FINISHED.has(current.status)) return void (queueNode.hidden = true);
    try {
      const queue = await Farm.api(`/v1/jobs/${jobId}/queue`);
      const eta = queue.eta_s === null ? "no estimate yet" : `about ${duration(queue.eta_s)} left`;
      queueNode.textContent = `Queue: ${queue.items_ahead} item(s) ahead · ${eta}`;
      queueNode.hidden = false;
    } catch (err) {
      queueNode.hidden = true;
    }
  }

  function update(job) {
    const first = current === null;
    current = job;
    if (first) showQueue();
    const progress = job.progress;
    document.getElementById("job-status").textContent = job.status;
    const bar = document.getElementById("job-progress");
    bar.max = progress.tiles_total || progress.items_total || 1;
    bar.value = progress.tiles_total ? progress.tiles_done : progress.items_done;
    document.getElementById("job-counts").textContent =
      `${progress.items_succeeded} done, ${progress.items_running} running, ` +
      `${progress.items_failed} failed, ${progress.items_canceled} canceled of ${progress.items_total}`;
    const error = document.getElementById("job-error");
    error.hidden = !job.error;
    error.textContent = job.error || "";
    const finished = Farm.FINISHED.has(job.status);
    buttons.cancel.hidden = finished;
    buttons.pause.hidden = finished || job.status === "paused";
    buttons.resume.hidden = job.status !== "paused";
    buttons.retry.hidden = !(finished && progress.items_failed > 0);
    zipButton.disabled = progress.items_succeeded === 0;
    showParams(job);
    showElapsed();
    if (finished) queueNode.hidden = true;
    for (const item of job.items) {
      const known = itemNodes.get(item.id);
      const signature = `${item.status}/${item.tiles_done}/${item.error}`;
      if (known && known.signature === signature) continue;
      const node = itemNode(item);
      if (known) known.node.replaceWith(node);
      else itemsBox.append(node);
      itemNodes.set(item.id, { node, signature });
    }
  }

  const ACTIONS = { pause: "Job paused.", resume: "Job resumed.", retry: "Failed items queued again.", cancel: "Job canceled." };
  for (const [action, done] of Object.entries(ACTIONS)) {
    buttons[action].addEventListener("click", async () => {
      try {
        update(await Farm.api(`/v1/jobs/${jobId}/${action}`, { method: "POST" }));
        Farm.show(done);
        // A fresh stream starts from the state after the action: an event the old stream read before
        // it (still in flight) cannot put the old status back, and a finished job's stream opens again.
        follow();
      } catch (err) {
        Farm.showError(err, action[0].toUpperCase() + action.slice(1));
      }
    });
  }
  zipButton.addEventListener("click", () =>
    Farm.download(`/v1/jobs/${jobId}/archive`, `${jobId}.zip`).catch((err) => Farm.showError(err, "Download")));

  const stalledNote = document.getElementById("job-stalled");
  let stopFollowing = null;
  function follow() {
    if (stopFollowing) stopFollowing();
    stopFollowing = Farm.watchJob(jobId, update, (idleSeconds) => {
      stalledNote.hidden = idleSeconds === null;
      if (idleSeconds !== null) {
        stalledNote.textContent =
          `Nothing has changed for ${idleSeconds} s: no worker is moving this job ` +
          "(none running, or all busy with earlier jobs). It will go on when one takes it.";
      }
    });
  }
  follow();
  setInterval(showElapsed, 1000);
  setInterval(showQueue, 5000);
});
