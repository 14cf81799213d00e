// The job list: newest first, filtered by status, with cancel for unfinished jobs.
"use strict";

Farm.ready(() => {
  const rows = document.getElementById("job-rows");
  const filter = document.getElementById("status-filter");
  const more = document.getElementById("more-jobs");
  const PAGE = 50;
  let nextOffset = 0;
  let refreshTimer = null;

  function progressText(progress) {
    const tiles = progress.tiles_total ? `, tiles ${progress.tiles_done}/${progress.tiles_total}` : "";
    return `${progress.items_done}/${progress.items_total} items${tiles}`;
  }

  function row(job) {
    const link = Farm.element("a", { href: `/ui/jobs/${job.id}`, text: job.id.slice(0, 8) });
    const actions = Farm.element("td");
    if (!Farm.FINISHED.has(job.status)) {
      const cancel = Farm.element("button", { type: "button", text: "Cancel" });
      cancel.addEventListener("click", async () => {
        try {
          await Farm.api(`/v1/jobs/${job.id}/cancel`, { method: "POST" });
          Farm.show(`Job ${job.id.slice(0, 8)} canceled.`);
          reload();
        } catch (err) {
          Farm.showError(err, "Canceling");
        }
      });
      actions.append(cancel);
    }
    return Farm.element(
      "tr",
      { "data-job-id": job.id, "data-status": job.status },
      Farm.element("td", { text: new Date(job.created_at).toLocaleString() }),
      Farm.element("td", {}, link),
      Farm.element("td", { text: job.params && job.params.preview ? `${job.kind} (preview)` : job.kind }),
      Farm.element("td", { class: "style-names", text: (job.style_names || []).join(", ") }),
      Farm.element("td", {}, Farm.element("span", { class: `badge ${job.status}`, text: job.status })),
      Farm.element("td", { text: progressText(job.progress) }),
      actions,
    );
  }

  async function loadPage(offset) {
    const status = filter.value ? `&status=${encodeURIComponent(filter.value)}` : "";
    const page = await Farm.api(`/v1/jobs?limit=${PAGE}&offset=${offset}${status}`);
    nextOffset = page.next_offset;
    more.hidden = nextOffset === null;
    return page.items;
  }

  async function reload() {
    clearTimeout(refreshTimer);
    try {
      const jobs = await loadPage(0);
      rows.replaceChildren(...jobs.map(row));
      if (!jobs.length) rows.append(Farm.element("tr", {}, Farm.element("td", { colspan: "7", text: "No jobs." })));
      if (jobs.some((job) => !Farm.FINISHED.has(job.status))) refreshTimer = setTimeout(reload, 3000);
    } catch (err) {
      Farm.showError(err, "Loading the jobs");
    }
  }

  more.addEventListener("click", async () => {
    try {
      rows.append(...(await loadPage(nextOffset)).map(row));
    } catch (err) {
      Farm.showError(err, "Loading more jobs");
    }
  });
  filter.addEventListener("change", reload);
  reload();
});
