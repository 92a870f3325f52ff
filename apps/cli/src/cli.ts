/**
 * The Sealmail command-line client. `run(argv, io)` is the whole program, so tests drive it
 * in-process; src/main.ts wires it to the real process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { httpsFetch } from './https-fetch';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Exit codes (sysexits.h where one fits). */
export const EXIT = { ok: 0, failure: 1, usage: 64, unavailable: 69 } as const;

const HELP = `sealmail — command-line client for Sealmail

Usage: sealmail <command> [options]

Commands:
  status              Check that the server is up and its database reachable
  lookup <address>…   Tell which addresses have a mailbox on the server
  help                Show this text

Options:
  --api <url>         Server base URL (default https://localhost:8443)
  --ca <file>         Trust this CA certificate (default .sealmail/tls/cert.pem when present)
`;

export async function run(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { api: { type: 'string', default: 'https://localhost:8443' }, ca: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    io.err(`sealmail: ${(err as Error).message}`);
    return EXIT.usage;
  }
  const [command, ...args] = parsed.positionals;
  if (parsed.values.help || command === 'help' || command === undefined) {
    io.out(HELP);
    return command === undefined && !parsed.values.help ? EXIT.usage : EXIT.ok;
  }
  const caFile = parsed.values.ca ?? (existsSync('.sealmail/tls/cert.pem') ? '.sealmail/tls/cert.pem' : undefined);
  let ca: string | undefined;
  try {
    ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
  } catch {
    io.err(`sealmail: cannot read the CA file ${caFile}`);
    return EXIT.usage;
  }
  const api = new ApiClient({ baseUrl: parsed.values.api.replace(/\/$/, ''), fetch: httpsFetch(ca) });
  try {
    switch (command) {
      case 'status': {
        const info = await api.info();
        const ready = await api.ready().then(
          () => true,
          () => false,
        );
        io.out(`server    ${parsed.values.api}`);
        io.out(`version   ${info.version}`);
        io.out(`database  ${ready ? 'ready' : 'UNREACHABLE'}`);
        io.out(`domains   ${info.domains.join(', ') || '(none)'}`);
        return ready ? EXIT.ok : EXIT.unavailable;
      }
      case 'lookup': {
        if (args.length === 0) {
          io.err('sealmail lookup: name at least one address');
          return EXIT.usage;
        }
        const { results } = await api.lookup(args);
        for (const r of results) io.out(`${r.address}\t${r.exists ? 'has a mailbox here' : 'no mailbox here'}`);
        return results.every((r) => r.exists) ? EXIT.ok : EXIT.failure;
      }
      default:
        io.err(`sealmail: unknown command "${command}" (try: sealmail help)`);
        return EXIT.usage;
    }
  } catch (err) {
    if (err instanceof ApiClientError) {
      io.err(`sealmail: ${err.message}${err.field ? ` (${err.field})` : ''} [${err.code}]`);
      return err.code === 'NETWORK' ? EXIT.unavailable : EXIT.failure;
    }
    throw err;
  }
}
