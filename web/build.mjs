// Builds the web app into web/dist (run by scripts/web.sh): one JavaScript bundle and one
// stylesheet (esbuild, minified), index.html copied. Fails when the first load (JS + CSS,
// gzip level 9: what CloudFront's compression sends at most) is above the budget.
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
// The budget: at most 250 KB of compressed JavaScript and CSS on first load.
const BUDGET_BYTES = 250 * 1000;

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await esbuild.build({
  entryPoints: { app: join(here, "src/main.js") },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outdir: dist,
  legalComments: "none",
  logLevel: "warning",
});
copyFileSync(join(here, "src/index.html"), join(dist, "index.html"));

const firstLoad = ["app.js", "app.css"].map((name) => {
  const raw = readFileSync(join(dist, name));
  return { name, bytes: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
});
const total = firstLoad.reduce((sum, f) => sum + f.gzip, 0);
writeFileSync(join(dist, "size.json"), JSON.stringify({ files: firstLoad, gzip_total: total, budget: BUDGET_BYTES }, null, 2));
for (const f of firstLoad) console.error(`[web] ${f.name}: ${f.bytes} bytes, ${f.gzip} gzip`);
console.error(`[web] first load: ${total} bytes gzip of ${BUDGET_BYTES} allowed`);
if (total > BUDGET_BYTES) {
  console.error(`[web] over budget by ${total - BUDGET_BYTES} bytes`);
  process.exit(1);
}
