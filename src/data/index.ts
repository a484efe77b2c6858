import { configureMemory, type MemoryOptions } from './block-pool.js';
import { zeroCopy } from './zero-copy.js';

/**
 * Sets the data layer up for a server: caps the block pools (`memory`) and, when zero-copy
 * sends are on, loads the addon now, so its one descriptor and thread exist from the start
 * rather than appearing at the first download.
 */
export function prepareDataLayer(options: { memory?: MemoryOptions; zeroCopy: boolean }): void {
  configureMemory(options.memory);
  if (options.zeroCopy) zeroCopy();
}
