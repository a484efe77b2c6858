import type { CommandSpec } from '../command.js';
import * as auth from './auth.js';
import * as dataSetup from './data-setup.js';
import * as directories from './directories.js';
import * as files from './files.js';
import * as hash from './hash.js';
import * as info from './info.js';
import * as listing from './listing.js';
import * as mode from './mode.js';
import * as navigation from './navigation.js';
import * as params from './params.js';
import * as range from './range.js';
import * as security from './security.js';
import * as status from './status.js';
import * as transfers from './transfers.js';

const MODULES = [auth, security, info, status, params, mode, range, navigation, directories, files, hash, listing, transfers, dataSetup];

/** Every command spec, keyed by each verb it handles. */
export function buildCommandRegistry(): Map<string, CommandSpec> {
  const registry = new Map<string, CommandSpec>();
  for (const mod of MODULES) {
    for (const value of Object.values(mod)) {
      if (!isSpec(value)) continue;
      for (const verb of value.verbs) registry.set(verb, value);
    }
  }
  return registry;
}

function isSpec(value: unknown): value is CommandSpec {
  return typeof value === 'object' && value !== null && Array.isArray((value as CommandSpec).verbs);
}
