// Uploads: drop a spreadsheet -> a presigned S3 PUT into uploads/<dataset>/ (POST
// /v1/uploads signs it) -> live progress from the event stream (checked, loading,
// loaded/partial/failed) -> the counts, the change report and the rejects file.
import { api } from "../api.js";
import { onEvent } from "../live.js";
import { clear, el, empty, errorBox, fmtDate, fmtNumber, problemText, table } from "../util.js";

const DATASETS = ["kpis", "companies", "dealflow"];

export default async function uploads(root) {
  const dataset = el("select", { id: "dataset" }, DATASETS.map((d) => el("option", { value: d }, d)));
  const input = el("input", { type: "file", id: "file", accept: ".csv,.xlsx,.xls,.tsv,.txt", multiple: true });
  const zone = el("div", { class: "drop", id: "drop-zone" },
    el("p", {}, "Drop spreadsheets here, or "),
    el("label", { for: "file", class: "button" }, "choose files"),
    input);
  const progress = el("ul", { class: "uploads", id: "upload-progress", "aria-live": "polite" });
  const history = el("div");
  root.append(
    el("label", { for: "dataset" }, "Dataset"), dataset, zone, progress,
    el("h2", {}, "Recent loads"), history);

  const tracked = new Map(); // S3 key -> its list item
  async function send(file) {
    const item = el("li", { dataset: { state: "signing" } }, el("strong", {}, file.name), " ", el("span", { class: "state" }, "preparing"));
    progress.prepend(item);
    const state = (s, text) => {
      item.dataset.state = s;
      item.querySelector(".state").textContent = text;
    };
    const signed = await api("/v1/uploads", { method: "POST", body: { dataset: dataset.value, file_name: file.name } });
    if (!signed.ok) return state("failed", `refused: ${problemText(signed)}`);
    tracked.set(signed.data.key, { item, state, name: file.name });
    item.dataset.key = signed.data.key;
    state("uploading", "uploading 0%");
    const ok = await new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open(signed.data.method || "PUT", signed.data.url);
      for (const [k, v] of Object.entries(signed.data.headers || {})) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => e.lengthComputable && state("uploading", `uploading ${Math.round((e.loaded / e.total) * 100)}%`);
      xhr.onload = () => resolve(xhr.status >= 200 && xhr.status < 300);
      xhr.onerror = () => resolve(false);
      xhr.send(file);
    });
    if (!ok) return state("failed", "the upload to storage failed; try again");
    state("uploaded", "uploaded, being checked");
  }
  input.addEventListener("change", () => {
    for (const f of input.files) send(f);
    input.value = "";
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    for (const f of e.dataTransfer.files) send(f);
  });

  async function loads() {
    const res = await api("/v1/data-versions?limit=20");
    clear(history);
    if (!res.ok) return history.append(errorBox(res));
    if (!res.data.items.length) return history.append(empty("No spreadsheet has been loaded yet."));
    history.append(table("Recent loads", [
      { label: "File", value: (v) => v.file_name },
      { label: "Dataset", value: (v) => v.dataset || "—" },
      { label: "Status", value: (v) => v.status },
      { label: "Inserted", value: (v) => fmtNumber(v.counts.inserted), num: true },
      { label: "Updated", value: (v) => fmtNumber(v.counts.updated), num: true },
      { label: "Rejected", value: (v) => fmtNumber(v.counts.rejected), num: true },
      { label: "Received", value: (v) => fmtDate(v.received_at) },
      { label: "Files", value: (v) => links(v) },
    ], res.data.items));
    return res.data.items;
  }

  function links(v) {
    const out = el("span", { class: "links" });
    if (v.links && v.links.change_report) out.append(el("a", { href: v.links.change_report, class: "change-report" }, "change report"), " ");
    if (v.links && v.links.rejects) out.append(el("a", { href: v.links.rejects, class: "rejects", download: "" }, "rejects"));
    if (!out.childNodes.length) out.append(v.failure_reason || "—");
    return out;
  }

  await loads();
  return onEvent(async (type, data) => {
    const t = tracked.get(data.key);
    if (type === "UploadChecked" && t) {
      if (data.verdict === "refused") t.state("refused", `refused: ${data.reason}`);
      else if (data.verdict === "duplicate") t.state("duplicate", `the same file as load #${data.duplicate_of}: not loaded again`);
      else t.state("loading", "validated, loading");
    }
    if (type === "DatasetLoaded") {
      const items = (await loads()) || [];
      if (!t) return;
      const c = data.counts || {};
      if (data.status === "failed") t.state("failed", `load failed: ${data.failure_reason || ""}`);
      else t.state("loaded", `loaded (${data.status}): ${fmtNumber(c.inserted)} inserted, ${fmtNumber(c.updated)} updated, ${fmtNumber(c.unchanged)} unchanged, ${fmtNumber(c.rejected || 0)} rejected`);
      const v = items.find((x) => x.s3_path && x.s3_path.endsWith(data.key));
      if (v) t.item.append(" ", links(v));
    }
  });
}
