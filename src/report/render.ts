/**
 * Charts are Vega-Lite specs, compiled to Vega by vega-lite, rendered
 * headless to SVG by vega's scenegraph (no browser), and rasterised to PNG
 * by resvg (a Rust renderer shipped as a prebuilt binary in its npm
 * package). One theme for every chart so the report reads as one document.
 */
import { Resvg } from "@resvg/resvg-js";
import { logger as vegaLog, parse, View, Warn } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { errorMessage, GvmError } from "../util/errors.js";
import { defaultLogger, type Logger } from "../util/log.js";

export class ReportError extends GvmError {}

/** Fonts tried in order; DejaVu Sans ships with most Linux systems. */
export const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";

/** Shared look: readable axis and legend text, no clipped labels. */
export const THEME = {
  font: FONT,
  background: "white",
  padding: 12,
  title: { fontSize: 15, anchor: "start", offset: 10, subtitleFontSize: 12, subtitleColor: "#555" },
  axis: { labelFontSize: 12, titleFontSize: 13, titlePadding: 8, labelLimit: 220, gridColor: "#e6e6e6" },
  legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 360, symbolSize: 120, orient: "bottom", direction: "vertical", columns: 2, columnPadding: 24 },
  header: { labelFontSize: 13, titleFontSize: 13, labelLimit: 400 },
  view: { stroke: "#ccc" },
  range: { category: { scheme: "tableau10" } },
} as const;

/** The spec with the shared theme under its own config (the spec's settings win): what both the report and the dashboard compile. */
export function themed(spec: TopLevelSpec): TopLevelSpec {
  return { ...spec, config: { ...THEME, ...(spec.config ?? {}) } } as TopLevelSpec;
}

export interface RenderedChart {
  svg: string;
  png: Buffer;
}

/** Vega-Lite -> SVG (vega, headless) -> PNG (resvg) at `scale` times the SVG's size. */
export async function renderChart(spec: TopLevelSpec, scale = 2, logger: Logger = defaultLogger()): Promise<RenderedChart> {
  let svg: string;
  try {
    const vega = compile(themed(spec), { logger: vegaLogger(logger, describeSpec(spec)) }).spec;
    const view = new View(parse(vega), { renderer: "none" });
    svg = await view.toSVG();
    view.finalize();
  } catch (err) {
    throw new ReportError(`chart '${describeSpec(spec)}': Vega-Lite could not render it (${errorMessage(err)})`, { cause: err });
  }
  const png = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  })
    .render()
    .asPng();
  return { svg, png };
}

/** Vega-Lite's compiler warnings go to our logger, not the console. */
function vegaLogger(logger: Logger, chart: string) {
  return vegaLog(Warn, undefined, (method, _level, args) => {
    const m = `chart '${chart}': ${args.map(String).join(" ")}`;
    if (method === "error") logger.error(m);
    else if (method === "warn") logger.warn(m);
    else logger.debug(m);
  });
}

function describeSpec(spec: TopLevelSpec): string {
  const t = (spec as { title?: unknown }).title;
  if (typeof t === "string") return t;
  if (t !== null && typeof t === "object" && typeof (t as { text?: unknown }).text === "string") return (t as { text: string }).text;
  return "untitled";
}
