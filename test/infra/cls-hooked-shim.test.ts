/**
 * The bundles' stand-in for cls-hooked (infra/bundle-shims/cls-hooked-context.ts): every function and namespace
 * method the X-Ray SDK calls, read from the SDK's own source, and the context semantics the SDK's tracing relies
 * on. test/infra/bundles.test.ts checks that the bundles carry the shim and no cls-hooked;
 * test/e2e/chat.test.ts that a traced send still has its handler and DynamoDB subsegments.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import * as shim from '../../infra/bundle-shims/cls-hooked-context.ts';
import { createNamespace, destroyNamespace, getNamespace } from '../../infra/bundle-shims/cls-hooked-context.ts';
import { REPO_ROOT } from '../../infra/bundle.ts';

const SDK_LIB = path.join(REPO_ROOT, 'node_modules', 'aws-xray-sdk-core', 'dist', 'lib');

function sdkSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sdkSources(file);
    return entry.name.endsWith('.js') ? [readFileSync(file, 'utf8')] : [];
  });
}

const members = (source: string, variable: string, calledOnly: boolean) =>
  [...source.matchAll(new RegExp(`\\b${variable}\\.(\\w+)${calledOnly ? '\\s*\\(' : ''}`, 'g'))].map((m) => m[1] as string);

/** What the SDK requires cls-hooked as, what it calls on the module, and what it calls on a namespace. */
function sdkUsage() {
  const requiredAs = new Set<string>();
  const moduleFunctions = new Set<string>();
  const namespaceMethods = new Set<string>();
  for (const source of sdkSources(SDK_LIB)) {
    for (const [, variable, specifier] of source.matchAll(/(?:var|let|const)\s+(\w+)\s*=\s*require\(['"](cls-hooked[^'"]*)['"]\)/g)) {
      requiredAs.add(specifier as string);
      for (const name of members(source, variable as string, false)) moduleFunctions.add(name);
    }
    // `contextUtils.getNamespace().set(...)` and the like, and variables holding a namespace.
    for (const [, method] of source.matchAll(/getNamespace\([^)]*\)\.(\w+)\s*\(/g)) namespaceMethods.add(method as string);
    for (const [, variable] of source.matchAll(/(?:var|let|const)\s+(\w+)\s*=\s*contextUtils\.getNamespace\(\)/g)) {
      for (const name of members(source, variable as string, true)) namespaceMethods.add(name);
    }
  }
  return { requiredAs: [...requiredAs], moduleFunctions: [...moduleFunctions].sort(), namespaceMethods: [...namespaceMethods].sort() };
}

const usage = sdkUsage();

describe('what the X-Ray SDK calls of cls-hooked', () => {
  it('is required under the one name the bundles alias, and the source scan finds its calls', () => {
    expect(usage.requiredAs).toEqual(['cls-hooked/context']);
    // The scan's positive control: the SDK creates its namespace and runs subsegments in child contexts.
    expect(usage.moduleFunctions).toContain('createNamespace');
    expect(usage.namespaceMethods).toContain('run');
  });

  it.each(usage.moduleFunctions)('the shim exports %s', (name) => {
    expect(typeof (shim as Record<string, unknown>)[name]).toBe('function');
  });

  it.each(usage.namespaceMethods)('a shim namespace has %s', (name) => {
    expect(typeof (new shim.Namespace('scan') as unknown as Record<string, unknown>)[name]).toBe('function');
  });
});

describe('the cls-hooked shim', () => {
  const created: string[] = [];
  const namespace = (name: string) => {
    created.push(name);
    return createNamespace(name);
  };
  afterEach(() => {
    for (const name of created.splice(0)) destroyNamespace(name);
  });

  it('registers namespaces by name until destroyed', () => {
    const ns = namespace('registry');
    expect(getNamespace('registry')).toBe(ns);
    destroyNamespace('registry');
    expect(getNamespace('registry')).toBeUndefined();
    expect(() => createNamespace('')).toThrow(/must be given a name/);
  });

  it('has no context outside a run: get is undefined, set throws', () => {
    const ns = namespace('outside');
    expect(ns.active).toBeNull();
    expect(ns.get('segment')).toBeUndefined();
    expect(() => ns.set('segment', 1)).toThrow(/No context available/);
  });

  it('carries a run context across await, timers, immediates and promise chains, and drops it after', async () => {
    const ns = namespace('propagation');
    const seen: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      ns.run(() => {
        ns.set('segment', 'handler');
        (async () => {
          await sleep(1);
          seen.push(ns.get('segment'));
          await immediate();
          seen.push(ns.get('segment'));
          setTimeout(() => {
            seen.push(ns.get('segment'));
            Promise.resolve()
              .then(() => {
                seen.push(ns.get('segment'));
              })
              .then(resolve, reject);
          }, 1);
        })().catch(reject);
      });
    });
    expect(seen).toEqual(['handler', 'handler', 'handler', 'handler']);
    expect(ns.get('segment')).toBeUndefined();
  });

  it('keeps concurrent runs apart', async () => {
    const ns = namespace('concurrent');
    const runs = Array.from({ length: 20 }, (_, i) =>
      ns.runAndReturn(async () => {
        ns.set('segment', i);
        // Interleave: later runs set their value while earlier ones are waiting.
        await sleep(20 - i);
        const afterWait = ns.get('segment');
        await immediate();
        return [afterWait, ns.get('segment')];
      }),
    );
    expect(await Promise.all(runs)).toEqual(Array.from({ length: 20 }, (_, i) => [i, i]));
  });

  it('gives a nested run a child context: it reads the parent and its own sets stay its own', () => {
    const ns = namespace('nested');
    ns.run((outer) => {
      ns.set('segment', 'handler');
      ns.set('stage', 'dev');
      const inner = ns.run(() => {
        expect(ns.get('stage')).toBe('dev');
        ns.set('segment', 'subsegment');
        expect(ns.get('segment')).toBe('subsegment');
      });
      expect(Object.getPrototypeOf(inner)).toBe(outer);
      expect(ns.get('segment')).toBe('handler');
    });
  });

  it('runAndReturn returns what the function returns, and run returns its context', () => {
    const ns = namespace('returns');
    expect(ns.runAndReturn(() => 42)).toBe(42);
    const context = ns.run(() => ns.set('segment', 'x'));
    expect(context['segment']).toBe('x');
    expect(ns.active).toBeNull();
  });

  it('bind runs a function in the context active when it was bound, or the one given, with its this and arguments', async () => {
    const ns = namespace('bind');
    const bound = ns.runAndReturn(() => {
      ns.set('segment', 'bound');
      return ns.bind(function (this: unknown, a: number, b: number) {
        return { segment: ns.get('segment'), self: this, sum: a + b };
      });
    });
    const self = { name: 'receiver' };
    await immediate();
    expect(ns.get('segment')).toBeUndefined();
    expect(bound.call(self, 1, 2)).toEqual({ segment: 'bound', self, sum: 3 });
    expect(ns.get('segment')).toBeUndefined();

    const given = ns.createContext();
    given['segment'] = 'given';
    expect(ns.bind(() => ns.get('segment'), given)()).toBe('given');
    // Bound outside any context, a function still gets one to set on.
    expect(ns.bind(() => ns.set('segment', 'fresh'))()).toBe('fresh');
    expect(ns.get('segment')).toBeUndefined();
  });

  it('propagates a throw out of run and bind and leaves no context behind', () => {
    const ns = namespace('throws');
    expect(() => ns.run(() => { throw new Error('in run'); })).toThrow('in run');
    expect(() => ns.bind(() => { throw new Error('in bind'); })()).toThrow('in bind');
    expect(ns.active).toBeNull();
  });

  it("makes a context entered outside any run every later invocation's, as the SDK's Lambda mode uses it", async () => {
    const ns = namespace('lambda');
    // What aws-xray-sdk-core's env/aws_lambda.js does at Init.
    const initContext = ns.createContext();
    ns.enter(initContext);
    ns.set('segment', 'facade');
    // An invocation starts from the event loop, in no run; the tracer middleware sets its handler subsegment.
    const invocation = await new Promise<unknown[]>((resolve) =>
      setImmediate(async () => {
        const seen: unknown[] = [ns.get('segment')];
        ns.set('segment', 'handler');
        // captureAsyncFunc: a run whose subsegment the awaited call sees, while the handler's continues outside.
        const call = ns.runAndReturn(async () => {
          ns.set('segment', 'DynamoDB');
          await sleep(1);
          return ns.get('segment');
        });
        seen.push(ns.get('segment'), await call, ns.get('segment'));
        ns.set('segment', 'facade');
        resolve(seen);
      }),
    );
    expect(invocation).toEqual(['facade', 'handler', 'DynamoDB', 'handler']);
    expect(initContext['segment']).toBe('facade');

    ns.exit(initContext);
    expect(ns.get('segment')).toBeUndefined();
    expect(() => ns.exit(initContext)).toThrow(/not currently entered/);
  });

  it('refuses enter inside a run, where AsyncLocalStorage cannot switch the run to another context', () => {
    const ns = namespace('enter-in-run');
    expect(() => ns.run(() => ns.enter(ns.createContext()))).toThrow(/enter\(\) inside run\(\) or bind\(\) is not supported/);
    expect(ns.active).toBeNull();
  });
});
