/**
 * The map as SVG, and as an HTML page holding that SVG and the heap's debugMallocStats() text. Each
 * shape with a tooltip carries it as an SVG <title>, which browsers show on hover.
 */
import type { Drawing } from './draw';

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function toSvg(d: Drawing): string {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${d.width}" height="${d.height}" viewBox="0 0 ${d.width} ${d.height}">`,
    '<style>text { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; fill: #212529 }</style>',
    `<rect x="0" y="0" width="${d.width}" height="${d.height}" fill="#ffffff"/>`,
  ];
  for (const r of d.rects) {
    const stroke = r.stroke ? ` stroke="${r.stroke}" stroke-width="1"` : '';
    const shape = `<rect x="${r.x}" y="${r.y}" width="${r.w}" height="${r.h}" fill="${r.fill}"${stroke}`;
    out.push(r.title ? `${shape}><title>${escape(r.title)}</title></rect>` : `${shape}/>`);
  }
  for (const t of d.texts) out.push(`<text x="${t.x}" y="${t.y}" font-size="${t.size}"${t.bold ? ' font-weight="bold"' : ''}>${escape(t.text)}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function toHtml(d: Drawing, title: string, stats: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escape(title)}</title>
<style>body { margin: 0; font-family: "DejaVu Sans", Helvetica, Arial, sans-serif } pre { margin: 24px; font-size: 12px }</style>
</head>
<body>
${toSvg(d)}<pre>${escape(stats)}</pre>
</body>
</html>
`;
}
