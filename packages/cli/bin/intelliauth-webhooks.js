#!/usr/bin/env node
require('../src/cli').run(process.argv);
