// CSV export of what a table shows, built in the browser from the data on screen.

// toCSV writes RFC 4180 CSV: every field quoted when it holds a comma, quote, or line
// break; a leading = + - @ is prefixed with ' so a spreadsheet does not run it as a formula.
export function toCSV(columns, rows) {
  const lines = [columns.map((c) => field(c.label)).join(',')];
  for (const r of rows) lines.push(columns.map((c) => field(c.csv ? c.csv(r) : c.value(r))).join(','));
  return lines.join('\r\n') + '\r\n';
}

function field(v) {
  let s = v === undefined || v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// download hands the CSV to the browser as a file (UTF-8 with a BOM, so spreadsheet
// programs read Chinese correctly).
export function download(name, csv) {
  const blob = new Blob(['\ufeff', csv], { type: 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
