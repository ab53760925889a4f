/** Recent structured log lines of every function and the gateway, searchable by any field value. */
export interface LogEntry {
  readonly at: number;
  readonly source: string;
  readonly line: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

export class LogStore {
  private readonly entries: LogEntry[] = [];

  constructor(private readonly capacity = 20_000) {}

  add(source: string, line: string): void {
    let fields: Record<string, unknown> | undefined;
    if (line.startsWith('{')) {
      try {
        fields = JSON.parse(line) as Record<string, unknown>;
      } catch {
        fields = undefined;
      }
    }
    this.entries.push({ at: Date.now(), source, line, fields });
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  /** Lines whose text contains every term (connectionId, requestId, route, …), newest last. */
  search(query: string, limit = 200): LogEntry[] {
    const terms = query.split(/\s+/).filter(Boolean);
    const matches = this.entries.filter((e) => terms.every((term) => e.line.includes(term) || e.source.includes(term)));
    return matches.slice(-limit);
  }
}
