#!/usr/bin/env node
// The installed `fleet` command: runs the TypeScript CLI through tsx.
require('tsx/cjs');
require('../fleet.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
