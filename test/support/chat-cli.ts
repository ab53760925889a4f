/** `npm run chat` as users run it: a child process on client/cli.ts, driven through stdin, its output kept. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { REPO_ROOT } from '../../local/paths.ts';

export interface ChatCli {
  readonly child: ChildProcessWithoutNullStreams;
  lines(): string[];
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  type(line: string): void;
  exited(): Promise<number | null>;
}

/** Its tokens come from the development key under .local/: the stack it talks to must trust that key. */
export function startChatCli(args: readonly string[]): ChatCli {
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const child = spawn(process.execPath, [tsx, path.join(REPO_ROOT, 'client', 'cli.ts'), ...args], {
    cwd: REPO_ROOT,
    env: process.env,
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const lines = () => out.split('\n');
  return {
    child,
    lines,
    // The deadline only bounds a real failure (a line arrives as soon as it is printed): a connect through three
    // cold functions took over 15 s at load 25.
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = lines().find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (Date.now() > deadline) throw new Error(`no line matching ${pattern} in:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    type(line) {
      child.stdin.write(`${line}\n`);
    },
    exited() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) resolve(child.exitCode);
        else child.once('exit', (code) => resolve(code));
      });
    },
  };
}
