/**
 * What function bundles get for `cls-hooked/context` (infra/bundle.ts): the part of its API the X-Ray SDK calls,
 * on Node's AsyncLocalStorage. cls-hooked keeps its contexts with an async hook of its own (init, before, after and
 * destroy on every promise and callback of every invocation): 9% of a fan-out worker's CPU and part of every traced
 * function's Init (docs/performance.md). test/infra/cls-hooked-shim.test.ts derives from the SDK's source what it
 * calls and checks that all of it is here.
 *
 * Semantics kept from cls-hooked: `run` and `bind` give the callee a context (a child of the active one, reading
 * its parent's keys through the prototype chain) that follows every continuation it starts; `get` outside any
 * context is undefined and `set` outside one throws. `enter` is what the SDK's Lambda mode does once at Init: the
 * context entered then is the one every invocation sees outside a `run`, as cls-hooked's hook made it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

type Context = Record<string, unknown>;

export class Namespace {
  readonly #storage = new AsyncLocalStorage<Context>();
  /** Contexts entered outside any run, the last one active wherever no run's context is. */
  readonly #entered: Context[] = [];

  constructor(readonly name: string) {}

  get active(): Context | null {
    return this.#storage.getStore() ?? this.#entered.at(-1) ?? null;
  }

  createContext(): Context {
    return Object.create(this.active ?? Object.prototype) as Context;
  }

  /** Runs `fn` in a new child context and returns that context (cls-hooked's contract). */
  run(fn: (context: Context) => void): Context {
    const context = this.createContext();
    this.#storage.run(context, fn, context);
    return context;
  }

  runAndReturn<T>(fn: (context: Context) => T): T {
    const context = this.createContext();
    return this.#storage.run(context, fn, context);
  }

  /** `fn` runs in `context`, by default the one active now (or a new one), wherever and whenever it is called. */
  bind<A extends unknown[], R>(fn: (...args: A) => R, context?: Context): (...args: A) => R {
    const bound = context ?? this.active ?? this.createContext();
    const storage = this.#storage;
    return function (this: unknown, ...args: A): R {
      return storage.run(bound, () => fn.apply(this, args));
    };
  }

  get(key: string): unknown {
    return this.active?.[key];
  }

  set<T>(key: string, value: T): T {
    const context = this.active;
    if (!context) throw new Error('No context available. ns.run() or ns.bind() must be called first.');
    context[key] = value;
    return value;
  }

  /**
   * Only outside a run, as the SDK calls it: inside one, cls-hooked would switch the run's own continuations to
   * `context`, which AsyncLocalStorage cannot do for a store it did not start.
   */
  enter(context: Context): void {
    if (this.#storage.getStore()) throw new Error(`namespace ${this.name}: enter() inside run() or bind() is not supported`);
    this.#entered.push(context);
  }

  exit(context: Context): void {
    const index = this.#entered.lastIndexOf(context);
    if (index < 0) throw new Error(`namespace ${this.name}: context not currently entered; can't exit`);
    this.#entered.splice(index, 1);
  }
}

const namespaces = new Map<string, Namespace>();

export function getNamespace(name: string): Namespace | undefined {
  return namespaces.get(name);
}

export function createNamespace(name: string): Namespace {
  if (!name) throw new Error('namespace must be given a name.');
  const namespace = new Namespace(name);
  namespaces.set(name, namespace);
  return namespace;
}

export function destroyNamespace(name: string): void {
  namespaces.delete(name);
}
