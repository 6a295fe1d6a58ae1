import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { definition, renderDashboardSvg, sampleFleet } from '../../scripts/render-dashboard';

/*
 * docs/dashboard.svg (the README's picture) is regenerated from the construct, not drawn: it must be exactly what
 * scripts/render-dashboard.ts produces now. After changing the dashboard, run `npm run docs:dashboard`.
 */
const COMMITTED = path.join(__dirname, '..', '..', 'docs', 'dashboard.svg');

let svg: string;
beforeAll(() => {
  svg = renderDashboardSvg();
});

test('docs/dashboard.svg is what scripts/render-dashboard.ts renders from the construct now', () => {
  expect(readFileSync(COMMITTED, 'utf8')).toBe(svg);
});

test('the picture shows every widget of the synthesized dashboard, with data', () => {
  const { body, alarms } = definition();
  for (const widget of body.widgets) expect(svg).toContain(`>${widget.properties.title.replace(/&/g, '&amp;').replace(/>/g, '&gt;')}</text>`);
  expect(alarms.size).toBe(3);
  // Line and stacked-area series from the function's own EMF documents (at least one per graph widget).
  const graphs = body.widgets.filter((w: any) => w.type === 'metric' && w.properties.view !== 'singleValue').length;
  expect((svg.match(/<(polyline|polygon) /g) ?? []).length).toBeGreaterThanOrEqual(graphs);
  // The worst node of the last day heads the log table.
  expect(svg).toContain('>criticalItems</text>');
});

test('the sample fleet moves from report to enforce', () => {
  const enforce = (day: number) => sampleFleet(day).filter((n) => n.mode === 'enforce').length;
  expect(enforce(13)).toBeGreaterThan(3 * enforce(0));
});
