/** Recent log lines of every function and the gateway, searchable by their text. */
export interface LogEntry {
  readonly at: number;
  readonly source: string;
  readonly line: string;
}

/** What an entry costs besides its text: the entry object and the string's header. */
const ENTRY_OVERHEAD_BYTES = 64;

const cost = (entry: LogEntry) => entry.line.length + ENTRY_OVERHEAD_BYTES;

export class LogStore {
  private entries: (LogEntry | undefined)[] = [];
  /** Index of the oldest entry kept: dropping one clears its slot, and the array is compacted now and then. */
  private first = 0;
  private bytes = 0;

  /**
   * @param maxBytes the store's bound (text counted a byte per character): once it is reached, each new line
   * pushes out the oldest, so a busy stack reaches its steady size in minutes, not hours.
   */
  constructor(private readonly maxBytes = 8 * 2 ** 20) {}

  add(source: string, line: string): void {
    const entry = { at: Date.now(), source, line };
    this.entries.push(entry);
    this.bytes += cost(entry);
    while (this.bytes > this.maxBytes && this.first < this.entries.length - 1) {
      this.bytes -= cost(this.entries[this.first] as LogEntry);
      this.entries[this.first++] = undefined;
    }
    if (this.first > 1024 && this.first * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.first);
      this.first = 0;
    }
  }

  /** The text held, a byte per character: what the bound counts. */
  get size(): number {
    return this.bytes;
  }

  /** Forgets every line. */
  clear(): void {
    this.entries = [];
    this.first = 0;
    this.bytes = 0;
  }

  /** Lines whose text contains every term (connectionId, requestId, route, …), newest last. */
  search(query: string, limit = 200): LogEntry[] {
    const terms = query.split(/\s+/).filter(Boolean);
    const matches: LogEntry[] = [];
    for (let i = this.entries.length - 1; i >= this.first && matches.length < limit; i--) {
      const e = this.entries[i] as LogEntry;
      if (terms.every((term) => e.line.includes(term) || e.source.includes(term))) matches.push(e);
    }
    return matches.reverse();
  }
}
