// Archival recolouring on the new-job page (issue 15): an exemplar photo to take colours from, and a
// hint painter — coloured strokes drawn on a canvas laid over the first photo, uploaded as a
// transparent PNG of the photo's shape (the farm scales it to the photo). Used by new_job.js.
"use strict";

window.Recolor = (() => {
  const PAINT_SIDE = 1024; // the canvas's long side: strokes are scaled up to the photo by the farm
  let photo = null; // the first image added to the form
  let painted = false;
  let drawing = null;

  const $ = (id) => document.getElementById(id);

  function showPainter(file) {
    const img = $("hint-photo");
    img.onload = () => {
      const scale = Math.min(1, PAINT_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
      const canvas = $("hint-canvas");
      canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
      canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
      clear();
      $("hint-painter").hidden = false;
    };
    img.src = URL.createObjectURL(file);
  }

  function photoAdded(file, media) {
    if (photo || media !== "image") return;
    photo = file;
    showPainter(file);
  }

  function point(event) {
    const canvas = $("hint-canvas");
    const box = canvas.getBoundingClientRect();
    return [((event.clientX - box.left) * canvas.width) / box.width, ((event.clientY - box.top) * canvas.height) / box.height];
  }

  function stroke(event) {
    if (!drawing) return;
    const context = $("hint-canvas").getContext("2d");
    const [x, y] = point(event);
    context.strokeStyle = $("hint-colour").value;
    context.lineWidth = Number($("hint-size").value);
    context.lineCap = context.lineJoin = "round";
    context.beginPath();
    context.moveTo(drawing[0], drawing[1]);
    context.lineTo(x, y);
    context.stroke();
    drawing = [x, y];
    painted = true;
    $("hint-canvas").dataset.painted = "true";
  }

  function clear() {
    const canvas = $("hint-canvas");
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    painted = false;
    delete canvas.dataset.painted;
  }

  function exemplarFile() {
    const input = $("colorize-from-file");
    return input && input.files.length ? input.files[0] : null;
  }

  function active() {
    return Boolean(exemplarFile()) || painted;
  }

  async function uploadBlob(blob, name) {
    const body = new FormData();
    body.append("file", blob, name);
    return (await Farm.api("/v1/uploads", { method: "POST", form: body })).id;
  }

  // The recolour fields of a job body for these inputs (the first input is the painted photo).
  async function fields(ids) {
    const extra = {};
    const exemplar = exemplarFile();
    if (exemplar) extra.colorize_from = await uploadBlob(exemplar, exemplar.name);
    if (painted) {
      const blob = await new Promise((resolve) => $("hint-canvas").toBlob(resolve, "image/png"));
      const hints = await uploadBlob(blob, "hints.png");
      extra.hints = ids.length === 1 ? hints : ids.map((_, index) => (index === 0 ? hints : null));
    }
    const smoothing = $("chroma-smoothing").value;
    if (smoothing !== "") extra.chroma_smoothing = Number(smoothing);
    return extra;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const canvas = $("hint-canvas");
    if (!canvas) return;
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      drawing = point(event);
      stroke(event);
    });
    canvas.addEventListener("pointermove", stroke);
    for (const name of ["pointerup", "pointercancel"]) canvas.addEventListener(name, () => (drawing = null));
    $("hint-clear").addEventListener("click", clear);
  });

  return { photoAdded, active, fields };
})();
