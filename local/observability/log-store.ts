/** Recent log lines of every function and the gateway, searchable by their text and queryable by log group. */
import { LOCAL_ACCOUNT_ID } from '../plan.ts';
import type { LogEvent } from './logs-insights.ts';

export interface LogEntry {
  readonly at: number;
  readonly source: string;
  readonly line: string;
  /** The log group the plan sends the source's lines to; none for the local runtime's own lines. */
  readonly group?: string;
  readonly stream?: string;
}

export interface LogDestination {
  readonly group?: string;
  readonly stream?: string;
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

  add(source: string, line: string, destination: LogDestination = {}): void {
    const entry: LogEntry = { at: Date.now(), source, line, ...destination };
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

  /** The lines kept of these log groups as Logs Insights reads them (@log is `account-id:group`), oldest first. */
  logEvents(groupNames: readonly string[]): LogEvent[] {
    const groups = new Set(groupNames);
    const events: LogEvent[] = [];
    for (let i = this.first; i < this.entries.length; i++) {
      const e = this.entries[i] as LogEntry;
      if (e.group === undefined || !groups.has(e.group)) continue;
      events.push({ timestamp: e.at, message: e.line, log: `${LOCAL_ACCOUNT_ID}:${e.group}`, logStream: e.stream });
    }
    return events;
  }
}
