import {
  boxPerUserKey,
  boxPerUserKeyHistory,
  createLink,
  generateDeviceKeys,
  generatePerUserKey,
  keyId,
  LinkType,
  publicKeysOf,
  toBase64Url,
  toHex,
  ZERO_HASH,
  type KeySet,
  type Link,
  type LinkBody,
  type PerUserKey,
} from '@sealmail/crypto';
import { SMTPServer } from 'smtp-server';
import type { FastifyInstance } from 'fastify';
import { seedDemo, type SeedResult } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, defaultAuthSettings, tableResolver, type AuthSettings, type DnsTable } from '@sealmail/server';
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore, type KeyStore } from '@sealmail/client/identity';
import { buildApp, type BuildAppOptions } from '../src/app';
import { ephemeralServerMailKey, loadOrCreateDkimKey, MailEvents, type BlobStore, type ServerMailKey } from '@sealmail/mailstore';

export interface Harness {
  app: FastifyInstance;
  db: TestDatabase;
  seed: SeedResult;
  clock: { now: Date };
  /** The server mail key and event hub the app was built with (a second app on the same database can share them). */
  serverKey: ServerMailKey;
  events: MailEvents;
  /** The DNS the API sees (DNS is outside this machine): tests publish records by setting keys, `"TXT name"`. */
  dns: DnsTable;
  password(address: string): string;
  signIn(address: string, extra?: Record<string, unknown>): Promise<{ token: string; cookie: string; body: Record<string, unknown> }>;
  /**
   * Signs in and sets up this user's test device with the real client flow (the first device of
   * a user makes the chain; later calls bind the new session to the same, approved device).
   */
  deviceSignIn(address: string, extra?: Record<string, unknown>): Promise<{ token: string; api: ApiClient; identity: Identity; deviceId: string }>;
  close(): Promise<void>;
}

/** A real API on a fresh database with the demo organisation, and a clock the test moves. */
export async function harness(
  auth: Partial<AuthSettings> = {},
  options: Pick<BuildAppOptions, 'trustedProxies' | 'cache' | 'idleConnectionMs'> & { listen?: boolean; imports?: { maxUploadBytes?: number }; outbound?: Omit<NonNullable<BuildAppOptions['outbound']>, 'connectionString' | 'hostname'>; reminders?: boolean; blobs?: (db: TestDatabase['prisma']) => BlobStore } = {},
): Promise<Harness> {
  const db = await createTestDatabase();
  const seed = await seedDemo(db.prisma, { domain: 'example.test' });
  // Starts at the real time (whole minute), so parts that read the real clock (Postgres, pg-boss)
  // agree with it; tests move it on from there.
  const clock = { now: new Date(Math.floor(Date.now() / 60_000) * 60_000) };
  const dns: DnsTable = {};
  const serverKey = ephemeralServerMailKey();
  const events = new MailEvents();
  const app = await buildApp({
    serverKey,
    events,
    logger: createLogger({ level: 'silent' }),
    db: db.prisma,
    version: '1.2.3',
    now: () => clock.now,
    auth: { ...defaultAuthSettings, ...auth },
    resolver: tableResolver(() => dns),
    mailHosts: { smtp: 'mx.example.test', public: 'mail.example.test' },
    // The mail import queue (pg-boss) on this test's own database.
    ...(options.imports ? { imports: { connectionString: db.connectionString, hostname: 'mx.example.test', ...options.imports } } : {}),
    ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
    ...(options.idleConnectionMs ? { idleConnectionMs: options.idleConnectionMs } : {}),
    // LISTEN for other processes' events and the cache's invalidations (the per-process cache is on only then).
    ...(options.listen ? { eventsUrl: db.connectionString, ...(options.cache ? { cache: options.cache } : {}) } : {}),
    // The outbound relay (pg-boss) on this test's own database, delivering where the test says.
    ...(options.outbound ? { outbound: { connectionString: db.connectionString, hostname: 'mx.example.test', ...options.outbound } } : {}),
    // Another blob store than the default Postgres one (e.g. S3 on loopback).
    ...(options.blobs ? { blobs: options.blobs(db.prisma) } : {}),
    // Calendar reminders (pg-boss) on this test's own database.
    ...(options.reminders ? { reminders: { connectionString: db.connectionString, sweepSeconds: 0 } } : {}),
  });
  const password = (address: string) => seed.users.find((u) => u.address === address)?.password ?? '';
  const keyStores = new Map<string, KeyStore>();
  return {
    app,
    db,
    seed,
    clock,
    serverKey,
    events,
    dns,
    password,
    async signIn(address, extra = {}) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password: password(address), ...extra } });
      if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.body}`);
      const body = res.json() as { token: string } & Record<string, unknown>;
      return { token: body.token, cookie: String(res.headers['set-cookie']).split(';')[0]!, body };
    },
    async deviceSignIn(address, extra = {}) {
      if (!keyStores.has(address)) keyStores.set(address, memoryKeyStore());
      const { token, api, identity, deviceId } = await signedInDevice(app, address, password(address), { store: keyStores.get(address)!, name: 'Test laptop', extra });
      return { token, api, identity, deviceId };
    },
    async close() {
      await app.close();
      await db.drop();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * A user's test device through `app`: signs in with `password`, sets the device up with the real
 * client flow (the first device of a user makes the chain; a `store` used before binds the new
 * session to the same, approved device) and answers it with a Mailer. `fetch` wraps the injected
 * fetch (to count or record requests); `extra` goes into the sign-in (a password, a TOTP code).
 */
export async function signedInDevice(
  app: FastifyInstance,
  address: string,
  password: string,
  opts: { store?: KeyStore; fetch?: (inner: typeof fetch) => typeof fetch; displayName?: string; name?: string; extra?: Record<string, unknown> } = {},
): Promise<{ token: string; api: ApiClient; identity: Identity; mail: Mailer; deviceId: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password, ...opts.extra } });
  if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.body}`);
  const { token } = res.json() as { token: string };
  const inner = injectFetch(app);
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: opts.fetch ? opts.fetch(inner) : inner, token });
  const identity = new Identity(api, opts.store ?? memoryKeyStore());
  const setup = await identity.setUpThisDevice({ address, name: opts.name ?? 'Laptop', kind: 'cli' });
  return { token, api, identity, mail: new Mailer(api, identity, address, opts.displayName), deviceId: setup.device.deviceId };
}

/** A device of a test user: its keys and the session it signs in with. */
export interface TestDevice {
  keys: KeySet;
  id: string;
  token: string;
}

/** Builds a user's sigchain link by link and posts each through the API, as a client does. */
export class ChainClient {
  links: Link[] = [];
  puks: PerUserKey[] = [];
  constructor(
    readonly h: Harness,
    readonly userId: string,
  ) {}

  async newDevice(address: string): Promise<TestDevice> {
    const keys = generateDeviceKeys();
    return { keys, id: toHex(keyId(publicKeysOf(keys))), token: (await this.h.signIn(address)).token };
  }

  /** Makes link `body` signed by `signer`, with a fresh PUK generation boxed to `boxTo` when asked. */
  make(signer: KeySet, body: LinkBody, newKeys: KeySet[] = []): Link {
    const last = this.links[this.links.length - 1];
    return createLink({ userId: this.userId, seqno: this.links.length, prev: last?.hash ?? ZERO_HASH, time: Date.now(), signer, body, newKeys });
  }

  nextPuk(): PerUserKey {
    return generatePerUserKey(this.puks.length + 1);
  }

  boxes(puk: PerUserKey, to: TestDevice[]) {
    return boxPerUserKey({ userId: this.userId, puk, devices: to.map((d) => ({ deviceId: d.id, encryptionPublicKey: d.keys.encryption.publicKey })) }).map((b) => ({
      deviceId: b.deviceId,
      generation: b.generation,
      box: toBase64Url(b.box),
    }));
  }

  post(token: string, link: Link, pukBoxes: unknown[] = [], historyBox?: Uint8Array) {
    return this.h.app.inject({ method: 'POST', url: '/api/v1/keys/sigchain', headers: bearer(token), payload: { link: toBase64Url(link.bytes), pukBoxes, ...(historyBox ? { historyBox: toBase64Url(historyBox) } : {}) } });
  }

  /** Posts and, on success, remembers the link (and the PUK it introduced). */
  async append(token: string, link: Link, pukBoxes: unknown[] = [], puk?: PerUserKey, historyBox?: Uint8Array) {
    const res = await this.post(token, link, pukBoxes, historyBox);
    if (res.statusCode === 200) {
      this.links.push(link);
      if (puk) this.puks.push(puk);
    }
    return res;
  }

  async root(device: TestDevice) {
    const puk = this.nextPuk();
    const link = this.make(device.keys, { type: LinkType.Root, device: { name: 'Laptop', kind: 'browser', keys: publicKeysOf(device.keys) }, puk: { generation: puk.generation, keys: publicKeysOf(puk) } }, [puk]);
    return this.append(device.token, link, this.boxes(puk, [device]), puk);
  }

  /** A device asks to join (pending, no key generation, no boxes). */
  async request(device: TestDevice, name = 'Phone') {
    const link = this.make(device.keys, { type: LinkType.DeviceRequest, device: { name, kind: 'browser', keys: publicKeysOf(device.keys) } });
    return this.append(device.token, link);
  }

  /** `by` approves `target`: the next generation for every approved device and the target, older ones in a signed history box. */
  async approve(by: TestDevice, target: TestDevice, approved: TestDevice[]) {
    const puk = this.nextPuk();
    const link = this.make(by.keys, { type: LinkType.DeviceApprove, deviceId: keyId(publicKeysOf(target.keys)), puk: { generation: puk.generation, keys: publicKeysOf(puk) } }, [puk]);
    const historyBox = boxPerUserKeyHistory({ userId: this.userId, generations: this.puks, fromDeviceId: by.id, fromSigningSecretKey: by.keys.signing.secretKey, to: { deviceId: target.id, encryptionPublicKey: target.keys.encryption.publicKey } });
    return this.append(by.token, link, this.boxes(puk, [...approved, target]), puk, historyBox);
  }

  async revoke(by: TestDevice, target: TestDevice, remaining: TestDevice[]) {
    const puk = this.nextPuk();
    const link = this.make(by.keys, { type: LinkType.DeviceRevoke, deviceId: keyId(publicKeysOf(target.keys)), puk: { generation: puk.generation, keys: publicKeysOf(puk) } }, [puk]);
    return this.append(by.token, link, this.boxes(puk, remaining), puk);
  }
}

export async function userIdOf(h: Harness, address: string): Promise<string> {
  const [local, domain] = address.split('@');
  const u = await h.db.prisma.user.findFirstOrThrow({ where: { localPart: local, domain: { name: domain } } });
  return u.id;
}

/** A fetch that goes through app.inject: the real client package against the in-process API. */
export function injectFetch(app: FastifyInstance): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const res = await app.inject({
      method: (init?.method ?? 'GET') as 'GET',
      url: url.pathname + url.search,
      headers: (init?.headers ?? {}) as Record<string, string>,
      ...(init?.body !== undefined ? { payload: init.body instanceof Uint8Array ? Buffer.from(init.body) : String(init.body) } : {}),
    });
    return new Response(res.statusCode === 204 ? null : new Uint8Array(res.rawPayload), { status: res.statusCode, headers: { 'content-type': String(res.headers['content-type'] ?? 'application/json') } });
  }) as typeof fetch;
}

/** Polls `f` every 200 ms until it answers something truthy; fails after `ms`. */
export async function until<T>(f: () => Promise<T | undefined | false | null>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A real smtp-server on loopback standing in for a remote MX (STARTTLS with the test's
 * certificate). Every message it takes is kept with its envelope recipients; `onRcpt` may refuse
 * a recipient by returning an SMTP code and text.
 */
export async function startRemoteMx(tls: { key: string; cert: string }, onRcpt?: (address: string) => { code: number; text: string } | undefined) {
  const received: { rcpt: string[]; raw: Buffer }[] = [];
  const server = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    onRcptTo(address, _s, cb) {
      const refusal = onRcpt?.(address.address);
      cb(refusal ? Object.assign(new Error(refusal.text), { responseCode: refusal.code }) : undefined);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ rcpt: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.server.address() as { port: number }).port, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

type RelayOptions = NonNullable<BuildAppOptions['outbound']>;

/**
 * An API process whose outbound relay delivers to a stand-in MX on this machine: DKIM keys in
 * `dir`, the stand-in's certificate trusted, a sweeper every 200 ms. DNS is outside this machine:
 * `outbound.resolveMx` answers for it (see `standInMx`). Private targets stay refused unless the
 * caller allows them (the stand-in is on loopback, a public address in production).
 */
export function relayTestApp(tdb: TestDatabase, o: { dir: string; tlsCert: string; outbound: Omit<RelayOptions, 'connectionString' | 'hostname'> & Partial<Pick<RelayOptions, 'hostname'>> }) {
  return buildApp({
    logger: createLogger({ level: 'silent' }),
    db: tdb.prisma,
    version: 't',
    auth: defaultAuthSettings,
    serverKey: ephemeralServerMailKey(),
    outbound: { connectionString: tdb.connectionString, hostname: 'mx.example.test', dkim: (domain) => loadOrCreateDkimKey(o.dir, domain), tls: { ca: o.tlsCert }, sweepSeconds: 0.2, ...o.outbound },
  });
}

/** An MX lookup (DNS is outside this machine): each named domain's MX is `localhost`, `hosts` times; any other domain answers SERVFAIL. */
export const standInMx =
  (domains: Record<string, number>) =>
  async (domain: string): Promise<{ exchange: string; priority: number }[]> =>
    domains[domain] ? Array.from({ length: domains[domain] }, (_, i) => ({ exchange: 'localhost', priority: domains[domain] === 1 ? 10 : i })) : Promise.reject(Object.assign(new Error('nx'), { code: 'ESERVFAIL' }));
