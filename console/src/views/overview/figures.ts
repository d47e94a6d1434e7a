// What the overview's pages share: the API's types for it, and the charts drawn from them.
import type { ChartOption } from '@/components/echarts'
import type { components } from '@/api/schema'

export type CountyOverview = components['schemas']['CountyOverview']
export type CountyFigures = components['schemas']['OverviewFigures']

type Status = NonNullable<components['schemas']['ProjectProgress']['status']>
type Category = NonNullable<components['schemas']['ProjectProgress']['category']>

// The orders to draw in (a JSON object's keys come sorted by name): the lifecycle's, the
// policy's. Typed by the API's codes, so a code renamed there stops the type check here.
export const STATUS_ORDER: readonly Status[] = [
  'reserve',
  'annual_plan',
  'consulting',
  'approved',
  'construction',
  'completed',
  'accepted',
]
export const CATEGORY_ORDER: readonly Category[] = ['basic', 'improvement', 'enhancement']

/** Code → count as [Chinese label, count], in `order`, then any code the order lacks. */
export function labelled(
  counts: Record<string, number> | undefined,
  labels: Record<string, string> | undefined,
  order: readonly string[],
): [string, number][] {
  const codes = [...order, ...Object.keys(counts ?? {}).filter((c) => !order.includes(c))]
  return codes.map((code) => [labels?.[code] ?? code, counts?.[code] ?? 0])
}

/** A rate of 0..1 as a percentage, or a dash when there is none. */
export function percent(rate: number | null | undefined): string {
  return rate == null ? '—' : `${(rate * 100).toFixed(1)}%`
}

export function statusBar(figures: CountyFigures): ChartOption {
  const rows = labelled(figures.by_status, figures.by_status_labels, STATUS_ORDER)
  return {
    tooltip: { trigger: 'axis' },
    grid: { left: 40, right: 16, top: 24, bottom: 64 },
    xAxis: {
      type: 'category',
      data: rows.map(([label]) => label),
      axisLabel: { interval: 0, rotate: 30 },
    },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      {
        name: '项目数',
        type: 'bar',
        data: rows.map(([, n]) => n),
        label: { show: true, position: 'top' },
        itemStyle: { color: '#409eff' },
      },
    ],
  }
}

export function categoryPie(figures: CountyFigures): ChartOption {
  const rows = labelled(figures.by_category, figures.by_category_labels, CATEGORY_ORDER)
  return {
    tooltip: { trigger: 'item', formatter: '{b}：{c} 个（{d}%）' },
    legend: { bottom: 0 },
    series: [
      {
        name: '项目类别',
        type: 'pie',
        radius: ['35%', '65%'],
        center: ['50%', '45%'],
        label: { formatter: '{b}\n{c} 个' },
        // A category with no project keeps its place in the legend, without a slice's label
        // (an empty slice's label would sit on a neighbour's).
        data: rows.map(([name, value]) =>
          value > 0
            ? { name, value }
            : { name, value, label: { show: false }, labelLine: { show: false } },
        ),
      },
    ],
  }
}

/** Every county's projects by status, stacked, one bar a county (the prefecture's roll-up). */
export function countiesBar(counties: CountyFigures[]): ChartOption {
  const first = counties[0]
  const statuses = STATUS_ORDER
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 40, right: 16, top: 56, bottom: 32 },
    xAxis: { type: 'category', data: counties.map((c) => c.county_name ?? '') },
    yAxis: { type: 'value', minInterval: 1 },
    series: statuses.map((status) => ({
      name: first?.by_status_labels?.[status] ?? status,
      type: 'bar' as const,
      stack: 'projects',
      barMaxWidth: 48,
      data: counties.map((c) => c.by_status?.[status] ?? 0),
    })),
  }
}
