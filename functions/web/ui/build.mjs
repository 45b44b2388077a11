// Builds the staff app into ../dist (embedded by the web function): one JavaScript and
// one CSS bundle with content hashes in their names, and index.html naming them.
// `make web` runs it; `node build.mjs` does the same.
import * as esbuild from 'esbuild';
import { readFile, writeFile, mkdir, rm, readdir, copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '..', 'dist');

// Start from an empty folder (keeping .gitkeep) so no stale hashed file is embedded.
await mkdir(out, { recursive: true });
for (const name of await readdir(out)) {
  if (name !== '.gitkeep') await rm(path.join(out, name), { recursive: true, force: true });
}

const result = await esbuild.build({
  entryPoints: [path.join(here, 'src', 'main.js')],
  bundle: true,
  format: 'esm',
  splitting: false,
  minify: true,
  sourcemap: false,
  target: ['chrome110', 'safari16', 'firefox115'],
  outdir: path.join(out, 'assets'),
  entryNames: 'app-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

const outputs = Object.keys(result.metafile.outputs).map((p) => path.relative(out, path.resolve(process.cwd(), p)).split(path.sep).join('/'));
const script = outputs.find((p) => /^assets\/app-[A-Z0-9]{8}\.js$/.test(p));
const style = outputs.find((p) => /^assets\/app-[A-Z0-9]{8}\.css$/.test(p));
if (!script || !style) throw new Error(`expected one hashed .js and .css bundle, got ${outputs.join(', ')}`);

const html = (await readFile(path.join(here, 'src', 'index.html'), 'utf8')).replace('{{script}}', script).replace('{{style}}', style);
await writeFile(path.join(out, 'index.html'), html);
await copyFile(path.join(here, 'src', 'favicon.svg'), path.join(out, 'favicon.svg'));

const sizes = Object.entries(result.metafile.outputs).map(([p, o]) => `${path.basename(p)} ${(o.bytes / 1024).toFixed(0)} KiB`);
console.log(`staff app built into functions/web/dist: ${sizes.join(', ')}`);
