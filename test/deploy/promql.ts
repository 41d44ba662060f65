/**
 * The metric names a PromQL expression reads, for checking dashboards and rules against what the
 * hub and the agent export. Covers the PromQL these files use: selectors, functions, aggregations
 * with by/without, binary operators with on/ignoring/group_*, ranges and subqueries, and Grafana's
 * `$variables` and `label_values(selector, label)`.
 *
 * @example
 * metricNames('sum by (le) (rate(workspace_sync_duration_seconds_bucket{job="hub"}[5m]))');
 * // ['workspace_sync_duration_seconds_bucket']
 */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
  'atan2',
]);

export function metricNames(expr: string): string[] {
  const bare = expr
    // Strings first: they may hold braces, brackets and words.
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\$\{?\w+\}?/g, '')
    .replace(/\blabel_values\(\s*([^,)]*)(?:,[^)]*)?\)/g, '$1')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, '');
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w:.])[A-Za-z_:][\w:]*/g)) {
    const name = match[0];
    const next = bare.slice((match.index ?? 0) + name.length).trimStart();
    if (next.startsWith('(') || KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/**
 * The metric names a Prometheus text exposition declares, with each histogram's `_bucket`,
 * `_sum` and `_count` series. Declared (`# TYPE`) names count even before their first sample.
 */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const typed = /^# TYPE (\S+) (\S+)/.exec(line);
    if (typed) {
      const [, name = '', type] = typed;
      names.add(name);
      if (type === 'histogram' || type === 'summary') {
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
      }
      continue;
    }
    const sample = /^([A-Za-z_:][\w:]*)[{ ]/.exec(line);
    if (sample?.[1]) names.add(sample[1]);
  }
  return names;
}

/** Each `name{...}` selector of an expression, with the `job` it selects when it selects one. */
export function selectors(expr: string): Array<{ name: string; job?: string }> {
  return [...expr.matchAll(/(?<![\w:.])([A-Za-z_:][\w:]*)\s*\{([^}]*)\}/g)].map((m) => ({
    name: m[1] ?? '',
    job: /(?:^|,)\s*job\s*=\s*"([^"]*)"/.exec(m[2] ?? '')?.[1],
  }));
}
