/** Plain-text tables for people: the first row is the header, columns padded to their widest cell. */

/** `rows` as aligned lines, two spaces between columns, no trailing blanks. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
