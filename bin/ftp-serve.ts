#!/usr/bin/env node
// ftp-serve: serve a folder over FTP, and manage its users file (src/cli/serve.ts).
import { main } from '../src/cli/serve.js';

main();
