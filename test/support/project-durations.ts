/**
 * A reporter that prints, after the run, how long each vitest project took: its wall-clock span (first file
 * started to last file ended; projects overlap because they share the worker pool) and the sum of its files'
 * own durations, so a slow project or a slow file stands out.
 */
import type { Reporter, TestModule } from 'vitest/node';

interface Span {
  files: number;
  firstStart: number;
  lastEnd: number;
  fileMs: number;
  slowest: { file: string; ms: number };
}

export default class ProjectDurations implements Reporter {
  private readonly started = new Map<string, number>();
  private readonly spans = new Map<string, Span>();
  private runStart = Date.now();

  onTestRunStart(): void {
    this.runStart = Date.now();
  }

  onTestModuleStart(module: TestModule): void {
    this.started.set(module.id, Date.now());
  }

  onTestModuleEnd(module: TestModule): void {
    const end = Date.now();
    const start = this.started.get(module.id) ?? end;
    const name = module.project.name || 'default';
    const span = this.spans.get(name) ?? { files: 0, firstStart: start, lastEnd: end, fileMs: 0, slowest: { file: '', ms: 0 } };
    span.files++;
    span.firstStart = Math.min(span.firstStart, start);
    span.lastEnd = Math.max(span.lastEnd, end);
    span.fileMs += end - start;
    if (end - start > span.slowest.ms) span.slowest = { file: module.relativeModuleId, ms: end - start };
    this.spans.set(name, span);
  }

  onTestRunEnd(): void {
    if (this.spans.size === 0) return;
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const lines = ['', 'per-project durations (wall = first file started to last file ended; files = sum of file durations)'];
    for (const [name, span] of [...this.spans].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(
        `  ${name.padEnd(6)} ${String(span.files).padStart(3)} files  wall ${seconds(span.lastEnd - span.firstStart).padStart(8)}  files ${seconds(span.fileMs).padStart(8)}  slowest ${span.slowest.file} (${seconds(span.slowest.ms)})`,
      );
    }
    lines.push(`  run    wall ${seconds(Date.now() - this.runStart)} after global setup`);
    console.log(lines.join('\n'));
  }
}
