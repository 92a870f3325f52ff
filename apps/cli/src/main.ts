#!/usr/bin/env -S node --import tsx
import { run } from './cli';

process.exitCode = await run(process.argv.slice(2), {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  readLine: async () => {
    let data = '';
    for await (const chunk of process.stdin) {
      data += String(chunk);
      if (data.includes('\n')) break;
    }
    return data.split('\n')[0] ?? '';
  },
});
