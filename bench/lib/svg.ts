// Plain SVG bar charts for the README: horizontal grouped bars, one colour per series, value
// printed at the end of each bar, linear or log scale. Several panels stack into one file.

export interface BarPanel {
  title: string;
  /** Axis caption, e.g. "operations per second (more is better)". */
  unit: string;
  /** Legend entries, one colour each; every group has one value per series. */
  series: string[];
  groups: { label: string; values: (number | undefined)[] }[];
  /** Log scale (for values spanning orders of magnitude). */
  log?: boolean;
  format?: (n: number) => string;
}

const WIDTH = 760;
const MARGIN = 10;
const VALUE_WIDTH = 90;
const BAR_HEIGHT = 14;
const BAR_GAP = 3;
const GROUP_GAP = 12;
const COLOURS = ["#e6522c", "#5b6b7c", "#9aa9b8", "#c7d0d9", "#3d7fb8"];

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

function defaultFormat(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toPrecision(3)}G`;
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e4) return `${(n / 1e3).toPrecision(3)}k`;
  if (Number.isInteger(n)) return String(n);
  return Number(n.toPrecision(3)).toString();
}

/** Renders one panel at vertical offset `top`; returns its SVG and height. */
function panel(p: BarPanel, top: number): { svg: string; height: number } {
  const format = p.format ?? defaultFormat;
  const values = p.groups.flatMap((g) => g.values).filter((v): v is number => v !== undefined);
  const max = Math.max(...values, 1e-9);
  const positive = values.filter((v) => v > 0);
  // A third of a decade below the smallest value, so the smallest bar is still visible.
  const floor = p.log ? 10 ** Math.floor(Math.log10(Math.min(...positive, max))) / 3 : 0;
  // Room for the longest group label (about 6.5 px per character at 12 px).
  const labelWidth = MARGIN + 12 + Math.max(...p.groups.map((g) => g.label.length)) * 6.5;
  const plot = WIDTH - labelWidth - VALUE_WIDTH;
  const scale = (v: number): number => {
    if (v <= 0) return 0;
    if (!p.log) return (v / max) * plot;
    const span = Math.log10(max) - Math.log10(floor) || 1;
    return Math.max(1, ((Math.log10(v) - Math.log10(floor)) / span) * plot);
  };

  const out: string[] = [];
  let y = top;
  out.push(`<text x="${MARGIN}" y="${y + 14}" class="title">${escapeXml(p.title)}</text>`);
  y += 22;
  // Legend, wrapped onto more lines when it does not fit
  let x = labelWidth;
  for (const [i, name] of p.series.entries()) {
    const width = 24 + name.length * 6.5;
    if (x + width > WIDTH && x > labelWidth) {
      x = labelWidth;
      y += 16;
    }
    out.push(
      `<rect x="${x}" y="${y}" width="10" height="10" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${x + 14}" y="${y + 9}">${escapeXml(name)}</text>`,
    );
    x += width;
  }
  y += 20;
  const barsTop = y;
  for (const g of p.groups) {
    const groupHeight = p.series.length * (BAR_HEIGHT + BAR_GAP) - BAR_GAP;
    out.push(
      `<text x="${labelWidth - 8}" y="${y + groupHeight / 2 + 4}" text-anchor="end">${escapeXml(g.label)}</text>`,
    );
    for (const [i, v] of g.values.entries()) {
      const by = y + i * (BAR_HEIGHT + BAR_GAP);
      if (v === undefined) continue;
      const w = scale(v);
      out.push(
        `<rect x="${labelWidth}" y="${by}" width="${w.toFixed(1)}" height="${BAR_HEIGHT}" fill="${COLOURS[i % COLOURS.length]}"/>`,
        `<text x="${(labelWidth + w + 4).toFixed(1)}" y="${by + BAR_HEIGHT - 3}" class="value">${escapeXml(format(v))}</text>`,
      );
    }
    y += groupHeight + GROUP_GAP;
  }
  out.push(
    `<line x1="${labelWidth}" y1="${barsTop - 4}" x2="${labelWidth}" y2="${y - GROUP_GAP + 4}" class="axis"/>`,
    `<text x="${labelWidth}" y="${y + 8}" class="unit">${escapeXml(p.unit + (p.log ? " — log scale" : ""))}</text>`,
  );
  y += 22;
  return { svg: out.join("\n"), height: y - top };
}

/** One SVG document holding the panels one under the other. */
export function barChart(panels: BarPanel[], caption?: string): string {
  const parts: string[] = [];
  let y = 10;
  for (const p of panels) {
    const { svg, height } = panel(p, y);
    parts.push(svg);
    y += height + 8;
  }
  if (caption) {
    parts.push(`<text x="${MARGIN}" y="${y + 4}" class="unit">${escapeXml(caption)}</text>`);
    y += 14;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    "<style>.title{font-weight:600;font-size:14px}.value{font-size:11px;fill:#333}.unit{font-size:11px;fill:#666}.axis{stroke:#999}text{fill:#222}</style>",
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
