// Builds the dashboard and the status page's assets into OUT (default
// dist/): bundled and minified by esbuild, every asset named by a hash of
// its content (app.3f9a1c2b7d.js: cached for a year by opshub, see
// http/static), index.html (unhashed, revalidated) naming them, and
// manifest.json mapping logical names to URLs. No CDN, no external request.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] || join(here, 'dist');

const common = { bundle: true, minify: true, format: 'esm', target: ['es2020'], write: false, outdir: '/out',
  legalComments: 'none', logLevel: 'warning' };
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
const manifest = {};

// The chart library first: the app gets its hashed URLs and imports it
// only when a chart is drawn, so the overview never parses it.
const chart = await build({ ...common, entryPoints: { chart: join(here, 'src/chart.js') } });
emit(chart.outputFiles);
const result = await build({
  ...common,
  entryPoints: { app: join(here, 'src/main.js'), status: join(here, 'src/status.js'),
    'status-style': join(here, 'src/status.css') },
  define: { __CHART_JS__: JSON.stringify(manifest['chart.js']), __CHART_CSS__: JSON.stringify(manifest['chart.css']) },
  external: ['/assets/*'],
});
emit(result.outputFiles);

function emit(files) {
for (const f of files) {
  const base = f.path.replace(/^\/out\//, '');          // app.js, app.css, status.js, status-style.css
  const dot = base.lastIndexOf('.');
  let name = base.slice(0, dot);
  const ext = base.slice(dot + 1);
  if (name === 'status-style') name = 'status';
  const hash = createHash('sha256').update(f.contents).digest('hex').slice(0, 10);
  const file = `${name}.${hash}.${ext}`;
  writeFileSync(join(out, 'assets', file), f.contents);
  manifest[`${name}.${ext}`] = `/assets/${file}`;
}
}
for (const need of ['app.js', 'app.css', 'status.js', 'status.css', 'chart.js', 'chart.css']) {
  if (!manifest[need]) throw new Error(`build: no ${need}`);
}
const index = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>opshub</title><meta name="color-scheme" content="light dark"><link rel="icon" href="data:,">
<link rel="stylesheet" href="${manifest['app.css']}"><script type="module" src="${manifest['app.js']}"></script>
</head><body><div id="app"><noscript><p>The opshub dashboard needs JavaScript. The public status page at
<a href="/status">/status</a> and the API at <a href="/api-docs">/api-docs</a> work without it.</p></noscript></div></body></html>
`;
writeFileSync(join(out, 'index.html'), index);
writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`web: built ${Object.keys(manifest).length} assets into ${out}`);
