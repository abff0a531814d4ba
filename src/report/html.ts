/**
 * The report page: one self-contained HTML file (styles inline, charts as
 * inline SVG, no scripts, no external requests), readable offline and
 * attachable to an issue or an email.
 */
import type { Table } from "../eval/index.js";

export interface Section {
  title: string;
  /** Paragraphs of plain text (escaped). */
  notes?: string[];
  /** Inline SVG charts with their file stem (PNG/SVG files sit beside the page). */
  charts?: { name: string; svg: string }[];
  tables?: { caption: string; table: Table }[];
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function tableHtml(caption: string, t: Table): string {
  const head = t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const rows = t.rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join("")}</tr>`).join("\n");
  return `<table>\n<caption>${escapeHtml(caption)}</caption>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${rows}\n</tbody>\n</table>`;
}

const STYLE = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
p.meta { color: #666; margin-top: 0; }
figure { margin: 1rem 0 1.5rem; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85rem; color: #666; }
table { border-collapse: collapse; margin: 0.8rem 0 1.4rem; font-size: 0.9rem; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.4rem; }
th, td { border: 1px solid #ddd; padding: 0.3rem 0.6rem; }
td { text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: #f4f4f4; }
tbody th { text-align: left; font-weight: normal; }
.note { color: #555; font-size: 0.9rem; }
`;

export function reportHtml(title: string, meta: string, sections: readonly Section[]): string {
  const body = sections
    .map((s) => {
      const parts = [`<section>\n<h2>${escapeHtml(s.title)}</h2>`];
      for (const n of s.notes ?? []) parts.push(`<p class="note">${escapeHtml(n)}</p>`);
      for (const t of s.tables ?? []) parts.push(tableHtml(t.caption, t.table));
      for (const c of s.charts ?? []) parts.push(`<figure id="${escapeHtml(c.name)}">\n${c.svg}\n<figcaption>${escapeHtml(c.name)}.png / ${escapeHtml(c.name)}.svg</figcaption>\n</figure>`);
      parts.push("</section>");
      return parts.join("\n");
    })
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${escapeHtml(meta)}</p>
${body}
</body>
</html>
`;
}
