/**
 * Standard input when it is a terminal: a secret line (password, passphrase, backup key, code) is
 * asked for on stderr and typed without echo, and given on Enter — piped input is read to its end
 * instead (src/main.ts). Backspace removes a character, Ctrl-C stops the command (exit 130),
 * Ctrl-D on an empty line gives an empty answer.
 */
export interface TerminalIn {
  isTTY?: boolean;
  setRawMode?: (raw: boolean) => unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export function hiddenLine(input: TerminalIn, write: (text: string) => void, prompt: string, onInterrupt: () => void): Promise<string> {
  return new Promise((resolve) => {
    let line = '';
    write(prompt);
    input.setRawMode?.(true);
    const done = (answer: string | null) => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      write('\n');
      if (answer === null) onInterrupt();
      else resolve(answer);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') return done(line);
        if (ch === '\u0003') return done(null);
        if (ch === '\u0004') {
          if (!line) return done('');
          continue;
        }
        if (ch === '\u007f' || ch === '\b') line = [...line].slice(0, -1).join('');
        else if (ch >= ' ') line += ch;
      }
    };
    input.on('data', onData);
    input.resume();
  });
}
