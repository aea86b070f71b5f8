// Builds the dashboard's front end into dist/ (or the directory given as
// --outdir=DIR, which the freshness check uses): one minified script and
// one stylesheet. The output is deterministic, so dist/ can be committed
// and checked for staleness.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = process.argv.find((a) => a.startsWith('--outdir='));
const outdir = arg ? path.resolve(arg.slice('--outdir='.length)) : path.join(here, 'dist');

await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/main.js' }, // main.js imports app.css: dist/app.css
  outdir,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  legalComments: 'eof',
  charset: 'utf8',
  logLevel: 'warning',
});
