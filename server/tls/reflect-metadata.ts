/**
 * The part of the Reflect metadata API that `tsyringe` (inside `@peculiar/x509`) checks for at load
 * time and calls: get/getOwn/define/has. `@peculiar/x509` needs "a Reflect polyfill" and none is
 * installed; ours does not use decorators, so a WeakMap store is all it takes. Import this module
 * before `@peculiar/x509`. It defines nothing when a real polyfill is already loaded.
 */
type Store = Map<unknown, unknown>;
const stores = new WeakMap<object, Map<string | symbol | undefined, Store>>();

function store(target: object, property: string | symbol | undefined, create: boolean): Store | undefined {
  let byProperty = stores.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    stores.set(target, (byProperty = new Map()));
  }
  let s = byProperty.get(property);
  if (!s && create) byProperty.set(property, (s = new Map()));
  return s;
}

interface ReflectMetadata {
  getMetadata?: unknown;
}

if (!(Reflect as ReflectMetadata).getMetadata) {
  const getOwnMetadata = (key: unknown, target: object, property?: string | symbol) => store(target, property, false)?.get(key);
  const getMetadata = (key: unknown, target: object, property?: string | symbol): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const s = store(t, property, false);
      if (s?.has(key)) return s.get(key);
    }
    return undefined;
  };
  Object.assign(Reflect, {
    getOwnMetadata,
    getMetadata,
    hasMetadata: (key: unknown, target: object, property?: string | symbol) => getMetadata(key, target, property) !== undefined,
    hasOwnMetadata: (key: unknown, target: object, property?: string | symbol) => !!store(target, property, false)?.has(key),
    defineMetadata: (key: unknown, value: unknown, target: object, property?: string | symbol) => void store(target, property, true)!.set(key, value),
    metadata: (key: unknown, value: unknown) => (target: object, property?: string | symbol) => void store(target, property, true)!.set(key, value),
  });
}

export {};
