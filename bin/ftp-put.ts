#!/usr/bin/env node
// ftp-put: upload files or trees over FTP (src/cli/put.ts).
import { main } from '../src/cli/put.js';

main();
