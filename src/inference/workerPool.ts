/**
 * Which worker hosts which model. Each model gets its own worker up to `max` (a stuck or slow model then holds
 * back only itself); past that, a model joins the least busy worker of its backend: every worker compiles its
 * own onnxruntime WebAssembly and grows its own heap (about 60 MB each, measured), so the cap bounds memory
 * in a view of many models. Stopping a model terminates its worker; the other models it hosted are evicted
 * (the caller reloads them).
 */

export interface PoolClient {
  terminate(why: string): void;
  release(key: string): Promise<void>;
}

interface Home<C> {
  client: C;
  backend: string;
  models: Set<string>;
}

export class WorkerPool<C extends PoolClient> {
  private homes: Home<C>[] = [];
  private byModel = new Map<string, Home<C>>();

  constructor(
    private readonly make: () => C,
    readonly max: number,
    private readonly onEvicted: (keys: string[], why: string) => void = () => undefined,
  ) {}

  get size(): number {
    return this.homes.length;
  }

  /** The worker a model is about to load into (leaving the one it was in). */
  assign(key: string, backend: string): C {
    this.leave(key);
    let home: Home<C> | undefined;
    if (this.homes.length >= this.max)
      home = this.homes
        .filter((h) => h.backend === backend)
        .reduce<Home<C> | undefined>((a, h) => (!a || h.models.size < a.models.size ? h : a), undefined);
    if (!home) {
      home = { client: this.make(), backend, models: new Set() };
      this.homes.push(home);
    }
    home.models.add(key);
    this.byModel.set(key, home);
    return home.client;
  }

  clientOf(key: string): C | undefined {
    return this.byModel.get(key)?.client;
  }

  /** Models sharing a worker with `key` (them included). */
  housemates(key: string): string[] {
    return [...(this.byModel.get(key)?.models ?? [])];
  }

  /** Terminate the worker hosting `key`, whatever it is doing; the other models it hosted are evicted. */
  stop(key: string, why: string): void {
    const home = this.byModel.get(key);
    if (!home) return;
    this.homes = this.homes.filter((h) => h !== home);
    for (const m of home.models) this.byModel.delete(m);
    home.client.terminate(why);
    const others = [...home.models].filter((m) => m !== key);
    if (others.length) this.onEvicted(others, why);
  }

  /** A model leaves: its worker goes when it was alone there, else only its session. */
  leave(key: string): void {
    const home = this.byModel.get(key);
    if (!home) return;
    this.byModel.delete(key);
    home.models.delete(key);
    if (home.models.size) {
      void home.client.release(key).catch(() => undefined);
      return;
    }
    this.homes = this.homes.filter((h) => h !== home);
    home.client.terminate('released');
  }
}
