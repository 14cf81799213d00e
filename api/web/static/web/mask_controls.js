// The job form's result controls: structure-keeping fusion, matched style colours, and a mask
// with a preview of where the style goes on the first photo. A mask image is uploaded as soon as
// it is chosen; the farm checks that it fits the photos when the job is submitted.
"use strict";

const JobControls = (() => {
  let maskUpload = null; // Promise<upload id | null> for a chosen mask image
  let maskImage = null; // HTMLImageElement of the chosen mask image
  const byId = (id) => document.getElementById(id);

  function fields() {
    const out = {};
    const fidelity = Number(byId("fidelity").value);
    if (fidelity > 0) out.fidelity = fidelity; // unset values may come from the style's defaults
    if (byId("match-style-colors").checked) out.match_style_colors = true;
    const source = byId("mask-source").value;
    if (!source) return out;
    if (source === "file") {
      if (!maskUpload || !maskUpload.id) throw new Error("Choose a mask image that uploads without error, or no mask.");
      out.mask = maskUpload.id;
    } else {
      out.mask = source;
    }
    out.mask_mode = byId("mask-mode").value;
    out.feather = Number(byId("feather").value || 0);
    return out;
  }

  // Strength and colour the user never touched are left out, so a style's stored defaults apply.
  const touched = new Set();

  function apply(body) {
    if (!touched.has("strength")) delete body.strength;
    if (!touched.has("color-mode") && body.color_mode === "stylized") delete body.color_mode;
    return Object.assign(body, fields());
  }

  async function ready() {
    if (byId("mask-source").value === "file" && maskUpload) await maskUpload.promise;
  }

  function firstPhoto() {
    return document.querySelector("#inputs img.mini");
  }

  function loaded(img) {
    return img.complete && img.naturalWidth ? Promise.resolve(img) : new Promise((ok, bad) => {
      img.addEventListener("load", () => ok(img), { once: true });
      img.addEventListener("error", bad, { once: true });
    });
  }

  // The mask as an alpha plane on a canvas of the photo's preview size (feathered with a CSS blur).
  function maskLayer(source, photo, width, height) {
    const layer = document.createElement("canvas");
    layer.width = width;
    layer.height = height;
    const ctx = layer.getContext("2d");
    const feather = Number(byId("feather").value || 0) * (width / Math.max(photo.naturalWidth, 1));
    if (feather > 0) ctx.filter = `blur(${feather / 2}px)`;
    if (source === "alpha") {
      ctx.drawImage(photo, 0, 0, width, height);
      return layer;
    }
    ctx.drawImage(maskImage, 0, 0, width, height); // grayscale: white = inside
    const pixels = ctx.getImageData(0, 0, width, height);
    for (let i = 0; i < pixels.data.length; i += 4) {
      pixels.data[i + 3] = pixels.data[i];
    }
    ctx.putImageData(pixels, 0, 0);
    return layer;
  }

  async function drawPreview() {
    const box = byId("mask-preview");
    const note = byId("mask-note");
    const source = byId("mask-source").value;
    const photo = firstPhoto();
    if (!source || !photo || (source === "file" && !maskImage)) {
      box.hidden = true;
      return;
    }
    await loaded(photo);
    if (maskImage) await loaded(maskImage);
    const canvas = byId("mask-canvas");
    const scale = Math.min(1, 320 / Math.max(photo.naturalWidth, photo.naturalHeight));
    canvas.width = Math.max(1, Math.round(photo.naturalWidth * scale));
    canvas.height = Math.max(1, Math.round(photo.naturalHeight * scale));
    const ctx = canvas.getContext("2d");
    ctx.drawImage(photo, 0, 0, canvas.width, canvas.height);
    box.hidden = false;
    box.dataset.source = source;
    if (source === "auto") {
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = "#d0f";
      ctx.strokeRect(4, 4, canvas.width - 8, canvas.height - 8);
      note.textContent = "The farm finds the foreground (GrabCut); the border of the photo counts as background.";
      return;
    }
    // Tint where the style goes: inside the mask for "stylize", outside it for "keep".
    const tint = document.createElement("canvas");
    tint.width = canvas.width;
    tint.height = canvas.height;
    const tctx = tint.getContext("2d");
    tctx.fillStyle = "rgba(208, 0, 255, 0.45)";
    tctx.fillRect(0, 0, tint.width, tint.height);
    const keep = byId("mask-mode").value === "keep";
    tctx.globalCompositeOperation = keep ? "destination-out" : "destination-in";
    tctx.drawImage(maskLayer(source, photo, tint.width, tint.height), 0, 0);
    ctx.drawImage(tint, 0, 0);
    note.textContent = "Tinted: where the style goes.";
  }

  function chooseMask(file) {
    maskImage = new Image();
    maskImage.alt = "";
    maskImage.src = URL.createObjectURL(file);
    const body = new FormData();
    body.append("file", file, file.name);
    const entry = { id: null };
    entry.promise = Farm.api("/v1/uploads", { method: "POST", form: body }).then(
      (upload) => {
        entry.id = upload.id;
        byId("mask-preview").dataset.uploadId = upload.id;
        return upload.id;
      },
      (err) => {
        Farm.showError(err, `Uploading the mask ${file.name}`);
        return null;
      },
    );
    maskUpload = entry;
    drawPreview().catch((err) => Farm.showError(err, "Mask preview"));
  }

  Farm.ready(() => {
    const redraw = () => drawPreview().catch((err) => Farm.showError(err, "Mask preview"));
    byId("fidelity").addEventListener("input", () => {
      const value = Number(byId("fidelity").value);
      byId("fidelity-value").textContent = value > 0 ? value.toFixed(2) : "off";
    });
    byId("mask-source").addEventListener("change", () => {
      byId("mask-file").disabled = byId("mask-source").value !== "file";
      redraw();
    });
    byId("mask-file").addEventListener("change", (event) => {
      if (event.target.files.length) chooseMask(event.target.files[0]);
    });
    for (const id of ["mask-mode", "feather"]) byId(id).addEventListener("change", redraw);
    byId("strength").addEventListener("input", () => touched.add("strength"));
    byId("color-mode").addEventListener("change", () => touched.add("color-mode"));
    byId("inputs").addEventListener("load", redraw, true); // the first photo's thumbnail arrived
  });

  return { apply, fields, ready, drawPreview };
})();
