// The job form: photos uploaded as they are dropped, styles or a weighted blend, options,
// a quick preview of the first photo, and the submission.
"use strict";

Farm.ready(() => {
  const inputList = document.getElementById("inputs");
  const picker = document.getElementById("style-picker");
  const previewBox = document.getElementById("preview");
  const inputs = []; // {file, media, upload: Promise<id>|null, id, node}
  let stopPreview = null;

  // Inputs: each file is checked and uploaded at once, so errors show next to it.
  function addFiles(files) {
    for (const file of files) {
      const media = file.type.startsWith("video/") ? "video" : "image";
      const state = Farm.element("span", { class: "muted", text: "uploading…" });
      const remove = Farm.element("button", { type: "button", class: "link", text: "remove" });
      const node = Farm.element("li", { "data-name": file.name }, Farm.element("strong", { text: file.name }), " ", state, " ", remove);
      if (file.type.startsWith("image/")) {
        const img = Farm.element("img", { alt: "", class: "mini" });
        img.addEventListener("error", () => img.remove()); // a damaged file: its row says why
        img.src = URL.createObjectURL(file);
        node.prepend(img);
      }
      const entry = { file, media, id: null, node };
      Recolor.photoAdded(file, media); // the hint painter shows the first photo (recolor.js)
      remove.addEventListener("click", () => {
        inputs.splice(inputs.indexOf(entry), 1);
        node.remove();
      });
      inputs.push(entry);
      inputList.append(node);
      const problem = Farm.fileSizeProblem(file);
      if (problem) {
        entry.failed = problem;
        state.textContent = problem;
        state.className = "error";
        continue;
      }
      const body = new FormData();
      body.append("file", file, file.name);
      if (media === "video") body.append("kind", "video");
      entry.upload = Farm.api("/v1/uploads", { method: "POST", form: body }).then(
        (upload) => {
          entry.id = upload.id;
          state.textContent = upload.width ? `${upload.width}×${upload.height}` : "uploaded";
          state.className = "ok";
          node.dataset.uploadId = upload.id;
          return upload.id;
        },
        (err) => {
          entry.failed = err.message;
          state.textContent = err.message;
          state.className = "error";
          Farm.showError(err, `Uploading ${file.name}`);
          return null;
        },
      );
    }
  }

  async function uploadedIds(onlyFirst) {
    const usable = inputs.filter((entry) => !entry.failed);
    if (!usable.length) throw new Error("Add at least one photo (or a video) that uploads without error.");
    const chosen = onlyFirst ? usable.slice(0, 1) : usable;
    const ids = await Promise.all(chosen.map((entry) => entry.upload));
    if (ids.some((id) => !id)) throw new Error("A file failed to upload; remove it or add it again.");
    return { ids, video: chosen.some((entry) => entry.media === "video") };
  }

  // Styles: every ready style, each with a checkbox and a weight for blends.
  function styleOption(style) {
    const box = Farm.element("input", { type: "checkbox", name: "style", value: style.id, id: `style-${style.id}` });
    const weight = Farm.element("input", {
      type: "number", min: "0", step: "0.1", value: "1", class: "weight", "aria-label": `weight of ${style.name}`,
    });
    return Farm.element(
      "label",
      { class: "card pick", for: box.id, "data-style-id": style.id },
      Farm.styleThumb(style),
      Farm.element("span", {}, box, " ", style.name),
      Farm.element("span", { class: "muted" }, "weight ", weight),
    );
  }

  async function loadStyles() {
    try {
      const styles = (await Farm.styles()).filter((s) => s.status === "ready");
      styles.sort((a, b) => Number(a.public) - Number(b.public) || a.name.localeCompare(b.name));
      picker.replaceChildren(...styles.map(styleOption));
      picker.setAttribute("aria-busy", "false");
      Farm.fillThumbs(picker);
    } catch (err) {
      Farm.showError(err, "Loading the styles");
    }
  }

  function chosenStyles() {
    return [...picker.querySelectorAll("input[name=style]:checked")].map((box) => ({
      style: box.value,
      weight: Number(box.closest("label").querySelector(".weight").value || 1),
    }));
  }

  function jobBody(ids, video, preview) {
    const colouring = Recolor.active(); // an exemplar or painted hints colour the photo instead of styles
    const styles = colouring ? [] : chosenStyles();
    if (!styles.length && !colouring) throw new Error("Choose at least one style.");
    const blend = document.querySelector("input[name=combine]:checked").value === "blend";
    if (video && styles.length > 1 && !blend) {
      throw new Error("A video is rendered in one style or one blend: choose a single style, or “one blend”.");
    }
    const body = {
      kind: video ? "video" : styles.length > 1 && !blend ? "multi_style" : "image",
      inputs: ids,
      styles: blend ? styles : styles.map(({ style }) => ({ style })),
      strength: Number(document.getElementById("strength").value),
      color_mode: document.getElementById("color-mode").value,
      output_format: document.getElementById("output-format").value,
    };
    const maxSide = document.getElementById("max-side").value;
    if (maxSide) body.max_output_side = Number(maxSide);
    if (preview) body.preview = true;
    JobControls.apply(body); // fidelity, colours, mask; untouched options left to the style's defaults
    return body;
  }

  async function withRecolor(body, ids) {
    return Recolor.active() ? { ...body, ...(await Recolor.fields(ids)) } : body;
  }

  function showPreview(job) {
    previewBox.hidden = false;
    previewBox.replaceChildren(
      ...job.items.map((item) => {
        const node = Farm.element(
          "figure",
          { class: "card", "data-item-id": item.id, "data-status": item.status },
          Farm.element("figcaption", { text: `${item.style_label}: ${item.status}` }),
        );
        if (item.download_url) {
          const img = Farm.element("img", { alt: `preview in ${item.style_label}`, class: "result" });
          Farm.blobUrl(item.download_url).then((url) => (img.src = url), (err) => Farm.showError(err, "Preview"));
          node.prepend(img);
        }
        if (item.error) node.append(Farm.element("p", { class: "error", text: item.error }));
        return node;
      }),
    );
  }

  async function preview() {
    const button = document.getElementById("preview-button");
    button.disabled = true;
    try {
      const { ids, video } = await uploadedIds(true);
      await JobControls.ready();
      const job = await Farm.api("/v1/jobs", { method: "POST", json: await withRecolor(jobBody(ids, video, true), ids) });
      if (stopPreview) stopPreview();
      showPreview(job);
      stopPreview = Farm.watchJob(job.id, (update) => {
        showPreview(update);
        if (Farm.FINISHED.has(update.status)) button.disabled = false;
      });
    } catch (err) {
      Farm.showError(err, "Preview");
      button.disabled = false;
    }
  }

  async function submit(event) {
    event.preventDefault();
    const button = document.getElementById("submit-button");
    button.disabled = true;
    try {
      const { ids, video } = await uploadedIds(false);
      await JobControls.ready();
      const job = await Farm.api("/v1/jobs", { method: "POST", json: await withRecolor(jobBody(ids, video, false), ids) });
      if (stopPreview) stopPreview(); // close the preview's stream before the next page opens one
      location.assign(`/ui/jobs/${job.id}`);
    } catch (err) {
      Farm.showError(err, "Submitting the job");
      button.disabled = false;
    }
  }

  const strength = document.getElementById("strength");
  strength.addEventListener("input", () => {
    document.getElementById("strength-value").textContent = Number(strength.value).toFixed(2);
  });
  Farm.dropZone(document.getElementById("input-drop"), document.getElementById("input-files"), addFiles);
  document.getElementById("preview-button").addEventListener("click", preview);
  document.getElementById("job-form").addEventListener("submit", submit);
  loadStyles();
});
