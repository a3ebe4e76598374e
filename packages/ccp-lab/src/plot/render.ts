import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Renders a Vega-Lite specification to an SVG document, headless: the `none`
 * renderer builds the scene graph without a canvas, and `toSVG` serialises it.
 * Use it for charts `lineChart`/`cdfChart` do not cover.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes an SVG document to `path`, creating missing directories. */
export async function writePlot(path: string | URL, svg: string): Promise<void> {
  const file = typeof path === 'string' ? path : fileURLToPath(path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, svg);
}
