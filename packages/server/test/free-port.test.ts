/**
 * freePort for tests and throw-away servers: ports below the kernel's range for outgoing
 * connections (so no client connection can take one between the choice and the listen), never
 * the same twice in a process, each bindable when handed out.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { claimPort, freePort } from '../src/process';

const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

describe('freePort', () => {
  it('hands out distinct ports below the outgoing-connection range, each one bindable', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(20);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(1024);
      expect(p).toBeLessThan(ephemeralLow);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(ports[0], '127.0.0.1', resolve));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('claims each port for one live process of the machine; a dead claimant\'s port is free again', async () => {
    const { spawnSync } = await import('node:child_process');
    const { readFile, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = (p: number) => join(tmpdir(), 'sealmail-ports', String(p));
    // A port claimed by another live process (init, pid 1) is not handed out.
    const taken = await freePort();
    await writeFile(file(taken), '1');
    expect(claimPort(taken)).toBe(false);
    // One claimed by a process that has exited is taken over.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(file(taken), String(dead));
    expect(claimPort(taken)).toBe(true);
    expect((await readFile(file(taken), 'utf8')).trim()).toBe(String(process.pid));
    // This process's own claim is not handed out twice.
    expect(claimPort(taken)).toBe(false);
  });
});
