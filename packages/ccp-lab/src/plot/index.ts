export {
  cdfChart,
  lineChart,
  type Axis,
  type CdfChartOptions,
  type CdfSeries,
  type ChartSize,
  type LineChartOptions,
  type LineSeries,
} from './charts.js';
export { renderSvg, writePlot } from './render.js';
