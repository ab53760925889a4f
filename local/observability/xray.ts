/**
 * A local X-Ray daemon: receives the segments the functions' X-Ray SDK sends over UDP, and the invocation
 * segments the local Lambda runtime records itself (as the Lambda service does), and assembles traces.
 */
import dgram from 'node:dgram';
import { randomId } from '../random-id.ts';

export interface Segment {
  readonly id: string;
  readonly trace_id?: string;
  readonly parent_id?: string;
  readonly name: string;
  readonly start_time: number;
  readonly end_time?: number;
  readonly type?: string;
  readonly origin?: string;
  readonly namespace?: string;
  readonly error?: boolean;
  readonly fault?: boolean;
  readonly http?: { response?: { status?: number } };
  readonly aws?: { operation?: string; table_name?: string };
  readonly annotations?: Record<string, unknown>;
  readonly subsegments?: Segment[];
}

export interface TraceSummary {
  readonly traceId: string;
  readonly name: string;
  readonly start: number;
  readonly durationMs: number;
  readonly fault: boolean;
  readonly annotations: Record<string, unknown>;
}

export interface WaterfallRow {
  readonly name: string;
  readonly depth: number;
  readonly offsetMs: number;
  readonly durationMs: number;
  readonly detail: string;
  readonly failed: boolean;
}


export function newTraceContext(): { traceId: string; segmentId: string; header: string } {
  const traceId = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomId(12, 'hex')}`;
  const segmentId = randomId(8, 'hex');
  return { traceId, segmentId, header: `Root=${traceId};Parent=${segmentId};Sampled=1` };
}

export class XrayCollector {
  private readonly socket = dgram.createSocket('udp4');
  /** Segments by trace id, oldest trace first (a Map keeps insertion order). */
  private readonly traces = new Map<string, Segment[]>();
  private segmentCount = 0;

  /**
   * @param maxSegments the store's bound, counting nested subsegments: a fan-out's trace holds one per post, so a
   * bound on traces alone would not bound memory. The oldest traces go first.
   */
  constructor(private readonly maxSegments = 10_000) {
    this.socket.on('message', (message) => this.receive(message.toString('utf8')));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return `127.0.0.1:${this.socket.address().port}`;
  }

  close(): void {
    this.socket.close();
  }

  record(segment: Segment & { trace_id: string }): void {
    let segments = this.traces.get(segment.trace_id);
    if (!segments) {
      segments = [];
      this.traces.set(segment.trace_id, segments);
    }
    segments.push(segment);
    this.segmentCount += countSegments(segment);
    while (this.segmentCount > this.maxSegments && this.traces.size > 1) {
      const [oldest, dropped] = this.traces.entries().next().value as [string, Segment[]];
      this.traces.delete(oldest);
      this.segmentCount -= dropped.reduce((sum, s) => sum + countSegments(s), 0);
    }
  }

  /** Segments held, nested subsegments included: what the bound counts. */
  get segments(): number {
    return this.segmentCount;
  }

  /** Forgets every trace. */
  clear(): void {
    this.traces.clear();
    this.segmentCount = 0;
  }

  private receive(datagram: string): void {
    const body = datagram.startsWith('{"format"') ? datagram.slice(datagram.indexOf('\n') + 1) : datagram;
    try {
      const segment = JSON.parse(body) as Segment;
      if (segment.trace_id) this.record(segment as Segment & { trace_id: string });
    } catch {
      // A malformed datagram is dropped, as the daemon does.
    }
  }

  /** Newest first. */
  list(limit = 100): TraceSummary[] {
    return [...this.traces.keys()]
      .slice(-limit)
      .reverse()
      .flatMap((traceId) => {
        const root = this.root(traceId);
        if (!root) return [];
        const annotations = Object.assign({}, ...this.all(traceId).map((s) => s.annotations ?? {}));
        return [
          {
            traceId,
            name: root.name,
            start: root.start_time * 1000,
            durationMs: Math.round(((root.end_time ?? root.start_time) - root.start_time) * 1000),
            fault: this.all(traceId).some((s) => s.fault || s.error),
            annotations,
          },
        ];
      });
  }

  /** The trace as rows of a waterfall: the invocation, then every subsegment nested under its parent. */
  waterfall(traceId: string): WaterfallRow[] {
    const root = this.root(traceId);
    if (!root) return [];
    const all = this.all(traceId);
    const children = (id: string) => all.filter((s) => s.parent_id === id && s !== root).sort((a, b) => a.start_time - b.start_time);
    const rows: WaterfallRow[] = [];
    const visit = (segment: Segment, depth: number) => {
      const end = segment.end_time ?? segment.start_time;
      rows.push({
        name: segment.name,
        depth,
        offsetMs: Math.round((segment.start_time - root.start_time) * 1000 * 10) / 10,
        durationMs: Math.round((end - segment.start_time) * 1000 * 10) / 10,
        detail: [segment.aws?.operation, segment.aws?.table_name, segment.http?.response?.status].filter(Boolean).join(' '),
        failed: Boolean(segment.fault || segment.error),
      });
      for (const child of [...(segment.subsegments ?? []), ...children(segment.id)]) visit(child, depth + 1);
    };
    visit(root, 0);
    return rows;
  }

  private root(traceId: string): Segment | undefined {
    return this.traces.get(traceId)?.find((s) => s.origin === 'AWS::Lambda::Function') ?? this.traces.get(traceId)?.[0];
  }

  private all(traceId: string): Segment[] {
    const flat: Segment[] = [];
    const walk = (s: Segment) => {
      flat.push(s);
      s.subsegments?.forEach(walk);
    };
    this.traces.get(traceId)?.forEach(walk);
    return flat;
  }
}

/** A segment and its nested subsegments. */
function countSegments(segment: Segment): number {
  return (segment.subsegments ?? []).reduce((sum, child) => sum + countSegments(child), 1);
}
