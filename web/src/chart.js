// The charting library, in its own bundle: only the check page needs it,
// so the overview's first render does not parse it (web/build.mjs builds
// this first and gives its URL to the app as __CHART_JS__).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export default uPlot;
