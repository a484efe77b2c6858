#!/usr/bin/env node
// ftp-get: download a file, list a folder, or download a tree over FTP (src/cli/get.ts).
import { main } from '../src/cli/get.js';

main();
