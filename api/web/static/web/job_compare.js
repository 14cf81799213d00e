// Before/after view of one output: the input under the output, a slider moves the boundary.
// Both pictures keep their own proportions (no square crop); the output decides the box's shape.
"use strict";

const Compare = (() => {
  function build(item) {
    const after = Farm.element("img", { alt: `${item.style_name} result`, class: "result after" });
    const before = Farm.element("img", { alt: `${item.input_name || "input"} before`, class: "before" });
    const beforeBox = Farm.element("div", { class: "before-box" }, before);
    const slider = Farm.element("input", {
      type: "range", min: "0", max: "100", value: "50", class: "compare-slider",
      "aria-label": "Before / after: move to compare the input with the result",
    });
    const box = Farm.element("div", { class: "compare" }, after, beforeBox, slider);
    const place = () => {
      beforeBox.style.clipPath = `inset(0 ${100 - Number(slider.value)}% 0 0)`;
      box.dataset.split = slider.value;
    };
    slider.addEventListener("input", place);
    place();
    return { box, before, after };
  }

  // Load both pictures with the key; the full-size link opens the output itself in a new tab.
  function load(item, view, fullLink) {
    Farm.blobUrl(item.download_url).then((url) => {
      view.after.src = url;
      fullLink.href = url;
    }, (err) => Farm.showError(err, "Loading a result"));
    if (item.input_url) {
      Farm.blobUrl(item.input_url).then((url) => (view.before.src = url), () => view.box.classList.add("no-before"));
    }
  }

  return { build, load };
})();
