// One job, live: progress from the job's event stream, each finished output shown and downloadable.
"use strict";

Farm.ready(() => {
  const jobId = document.getElementById("job").dataset.jobId;
  const itemsBox = document.getElementById("items");
  const cancelButton = document.getElementById("cancel-job");
  const zipButton = document.getElementById("download-zip");
  const itemNodes = new Map(); // item id -> {node, status}
  const EXTENSIONS = { png: "png", jpeg: "jpg", webp: "webp", tiff: "tif" };
  const VIDEO_FORMATS = new Set(["mp4", "mov", "mkv", "webm"]);

  function itemFileName(item) {
    const format = (item.output && item.output.format) || "png";
    const label = item.style_label.replace(/[^A-Za-z0-9._+-]+/g, "_");
    return `${String(item.position).padStart(4, "0")}-${label}.${EXTENSIONS[format] || format}`;
  }

  function itemNode(item) {
    const node = Farm.element(
      "figure",
      { class: "card item", "data-item-id": item.id, "data-status": item.status },
      Farm.element("div", { class: "thumb" }),
      Farm.element("figcaption", {}, Farm.element("strong", { text: item.style_label }), " ",
        Farm.element("span", { class: `badge ${item.status}`, text: item.status })),
      Farm.element("progress", { max: String(item.tiles_total || 1), value: String(item.tiles_done) }),
    );
    if (item.error) node.append(Farm.element("p", { class: "error", text: item.error }));
    if (item.role === "segment") {
      node.classList.add("segment"); // a part of a video, joined by the video's join item
      node.querySelector("figcaption").prepend(`segment ${item.position} · `);
    } else if (item.download_url) {
      const isVideo = item.output && VIDEO_FORMATS.has(item.output.format);
      const media = isVideo
        ? Farm.element("video", { controls: "", muted: "", class: "result" })
        : Farm.element("img", { alt: `result in ${item.style_label}`, class: "result" });
      Farm.blobUrl(item.download_url).then((url) => (media.src = url), (err) => Farm.showError(err, "Loading a result"));
      node.querySelector(".thumb").append(media);
      const size = item.output ? `${item.output.width}×${item.output.height} ${item.output.format}` : "";
      const download = Farm.element("button", { type: "button", class: "download", text: `Download ${size}` });
      download.addEventListener("click", () =>
        Farm.download(item.download_url, itemFileName(item)).catch((err) => Farm.showError(err, "Download")),
      );
      node.append(download);
    }
    return node;
  }

  function update(job) {
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
    cancelButton.hidden = Farm.FINISHED.has(job.status);
    zipButton.disabled = progress.items_succeeded === 0;
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

  cancelButton.addEventListener("click", async () => {
    try {
      update(await Farm.api(`/v1/jobs/${jobId}/cancel`, { method: "POST" }));
      Farm.show("Job canceled.");
    } catch (err) {
      Farm.showError(err, "Canceling");
    }
  });
  zipButton.addEventListener("click", () =>
    Farm.download(`/v1/jobs/${jobId}/archive`, `${jobId}.zip`).catch((err) => Farm.showError(err, "Download")),
  );
  const stalledNote = document.getElementById("job-stalled");
  Farm.watchJob(jobId, update, (idleSeconds) => {
    stalledNote.hidden = idleSeconds === null;
    if (idleSeconds !== null) {
      stalledNote.textContent =
        `Nothing has changed for ${idleSeconds} s: no worker is moving this job ` +
        "(none running, or all busy with earlier jobs). It will go on when one takes it.";
    }
  });
});
