// The chart library (uPlot) and its stylesheet, loaded the first time a page
// draws a chart (the check page, the alerts page's query box), and the
// theme's colours for it.

/* global __CHART_JS__, __CHART_CSS__ */
let uPlotLoad = null;
export function loadChartLib() {
  if (!uPlotLoad) {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = __CHART_CSS__;
    document.head.append(css);
    uPlotLoad = import(__CHART_JS__).then((m) => m.default);
  }
  return uPlotLoad;
}

export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}
