#!/usr/bin/env -S node --import tsx
import { run } from './cli';

process.exitCode = await run(process.argv.slice(2), {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  readLine: (() => {
    // Lines of standard input, read on demand (password, then backup key for `recover`).
    let lines: Promise<string[]> | undefined;
    let next = 0;
    return async () => {
      lines ??= (async () => {
        let data = '';
        for await (const chunk of process.stdin) data += String(chunk);
        return data.split(/\r?\n/);
      })();
      return (await lines)[next++] ?? '';
    };
  })(),
});
