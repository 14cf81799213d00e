// The style gallery: built-ins and the tenant's own styles, adding one from a dropped image.
"use strict";

Farm.ready(() => {
  const gallery = document.getElementById("gallery");
  const form = document.getElementById("style-form");
  const fileInput = document.getElementById("style-file");
  const fileName = document.getElementById("style-file-name");
  const nameInput = document.getElementById("style-name");
  let chosen = null;
  let styles = [];

  function card(style) {
    const status = Farm.element("span", { class: `badge ${style.status}`, text: style.status });
    const owner = Farm.element("span", { class: "muted", text: style.public ? "built-in" : "yours" });
    const node = Farm.element(
      "article",
      { class: "card", "data-style-id": style.id, "data-status": style.status },
      Farm.styleThumb(style),
      Farm.element("h3", { text: style.name }),
      Farm.element("p", {}, status, " ", owner),
    );
    if (style.error) node.append(Farm.element("p", { class: "error", text: style.error }));
    if (!style.public) {
      const remove = Farm.element("button", { type: "button", class: "link", text: "delete" });
      remove.addEventListener("click", async () => {
        if (!confirm(`Delete the style ${style.name}?`)) return;
        try {
          await Farm.api(`/v1/styles/${encodeURIComponent(style.id)}`, { method: "DELETE" });
          Farm.show(`Deleted ${style.name}.`);
          await load();
        } catch (err) {
          Farm.showError(err, "Deleting the style");
        }
      });
      node.append(remove);
    }
    return node;
  }

  function render() {
    const needle = document.getElementById("style-filter").value.trim().toLowerCase();
    const shown = styles.filter((s) => !needle || s.name.toLowerCase().includes(needle));
    // Own styles first (newest work is what people look for), then the built-ins.
    shown.sort((a, b) => Number(a.public) - Number(b.public) || a.name.localeCompare(b.name));
    gallery.replaceChildren(...shown.map(card));
    gallery.setAttribute("aria-busy", "false");
  }

  async function load() {
    try {
      styles = await Farm.styles();
      render();
      Farm.fillThumbs(gallery);
      if (styles.some((s) => s.status === "pending")) setTimeout(load, 1500); // until embedded
    } catch (err) {
      Farm.showError(err, "Loading the styles");
    }
  }

  function choose(files) {
    const [file] = files;
    if (!file) return;
    const problem = Farm.fileSizeProblem(file);
    if (problem) return Farm.show(problem, "error");
    chosen = file;
    fileName.textContent = file.name;
    if (!nameInput.value) nameInput.value = file.name.replace(/\.[^.]+$/, "");
  }

  Farm.dropZone(document.getElementById("style-drop"), fileInput, choose);
  document.getElementById("style-filter").addEventListener("input", render);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!chosen) return Farm.show("Choose or drop an image for the style first.", "error");
    const body = new FormData();
    body.append("file", chosen, chosen.name);
    body.append("name", nameInput.value.trim());
    try {
      const style = await Farm.api("/v1/styles", { method: "POST", form: body });
      Farm.show(`Added ${style.name}; it is ready once a worker has embedded it.`);
      chosen = null;
      fileName.textContent = "";
      form.reset();
      await load();
    } catch (err) {
      Farm.showError(err, "Adding the style");
    }
  });
  load();
});
