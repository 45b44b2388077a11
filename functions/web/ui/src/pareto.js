// The Pareto curve: the share of revenue held by the top x % of customers, ranked by
// revenue. The tiers report does not carry it yet; the backend phase adds
//   "paretoCurve": [{"customerShare": 0.01, "revenueShare": 0.12}, …, {"customerShare": 1, "revenueShare": 1}]
// (cumulative, customerShare ascending in (0, 1]). paretoPoints is the one place that reads it.

// paretoPoints returns the curve as [[customer %, revenue %], …] starting at [0, 0], or
// null when the report has no usable curve.
export function paretoPoints(curve) {
  if (!Array.isArray(curve) || curve.length < 2) return null;
  const pts = [[0, 0]];
  let lastX = 0;
  let lastY = 0;
  for (const p of curve) {
    const x = p && p.customerShare;
    const y = p && p.revenueShare;
    if (typeof x !== 'number' || typeof y !== 'number' || !(x > lastX) || x > 1 || y < lastY - 1e-9 || y > 1 + 1e-9) return null;
    pts.push([round(x * 100), round(Math.min(y, 1) * 100)]);
    lastX = x;
    lastY = y;
  }
  return pts;
}

// shareAt reads the revenue share of the top x (0–1) of customers off the curve, by
// linear interpolation between its points.
export function shareAt(points, x) {
  if (!points) return NaN;
  const px = x * 100;
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1];
    const [x1, y1] = points[i];
    if (px <= x1) return (y0 + ((y1 - y0) * (px - x0)) / (x1 - x0)) / 100;
  }
  return points[points.length - 1][1] / 100;
}

const round = (v) => Math.round(v * 100) / 100;
