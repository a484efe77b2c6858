#!/usr/bin/env node
import { VERSION } from "../src/index.js";
console.log(VERSION);
