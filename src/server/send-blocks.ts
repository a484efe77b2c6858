// Moved to the data layer (src/data/send-blocks.ts); kept so command handlers' imports resolve.
export { sendBlocks } from '../data/send-blocks.js';
