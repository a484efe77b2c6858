import { EventEmitter } from 'node:events';
import type TypedEmitterModule from 'typed-emitter';

// typed-emitter ships CommonJS types; under NodeNext its default export sits on `.default`.
export type EventMap = TypedEmitterModule.EventMap;
export type TypedEmitter<T extends EventMap> = TypedEmitterModule.default<T>;

/** EventEmitter typed with an event map: `class X extends typedEmitter<Events>() {}`. */
export function typedEmitter<T extends EventMap>(): new () => TypedEmitter<T> {
  return EventEmitter as unknown as new () => TypedEmitter<T>;
}
