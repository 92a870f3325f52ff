#!/usr/bin/env -S node --import tsx
import { run } from './cli';
import { hiddenLine } from './terminal-input';

// Lines of standard input, read on demand (password, then backup key for `recover`; a body for `send`).
let lines: Promise<string[]> | undefined;
let next = 0;
const input = () =>
  (lines ??= (async () => {
    let data = '';
    for await (const chunk of process.stdin) data += String(chunk);
    return data.split(/\r?\n/);
  })());

// On a terminal, a line (a password, passphrase, backup key or code) is asked for and typed
// unseen, given on Enter; piped input is read to its end and taken line by line.
const tty = process.stdin.isTTY === true;

process.exitCode = await run(process.argv.slice(2), {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  // Only on a terminal: a line rewritten in place (\r, then cleared to its end).
  ...(process.stderr.isTTY ? { progress: (l: string | null) => void process.stderr.write(l === null ? '\r\x1b[K' : `\r${l}\x1b[K`) } : {}),
  readLine: tty
    ? () => hiddenLine(process.stdin, (t) => void process.stderr.write(t), 'sealmail (input hidden): ', () => process.exit(130))
    : async () => (await input())[next++] ?? '',
  readRest: async () => {
    if (tty) process.stderr.write('sealmail: type the text, then Ctrl-D on an empty line\n');
    const all = await input();
    const rest = all.slice(next).join('\n');
    next = all.length;
    return rest;
  },
});
