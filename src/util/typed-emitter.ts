import { EventEmitter } from 'node:events';
/*
 * typed-emitter ships one CommonJS-format declaration file (`export default`
 * in a package without "type": "module"). Its default import is the interface
 * under bundler, node10 and CommonJS resolution but the whole module under
 * Node16/NodeNext ESM, so `import X from 'typed-emitter'` in our .d.ts broke
 * every consumer but NodeNext ESM (issue 17). A namespace import's `.default`
 * is the interface in every mode; test/unit/types.test.ts holds us to that.
 */
import type * as TypedEmitterTypes from 'typed-emitter';

/** Event name -> listener signature. */
export type EventMap = TypedEmitterTypes.EventMap;

/** typed-emitter's interface: `on`, `once`, `off`, `emit`... checked against the event map. */
export type TypedEmitter<T extends EventMap> = TypedEmitterTypes.default<T>;

/** EventEmitter typed with an event map: `class X extends typedEmitter<Events>() {}`. */
export function typedEmitter<T extends EventMap>(): new () => TypedEmitter<T> {
  return EventEmitter as unknown as new () => TypedEmitter<T>;
}
